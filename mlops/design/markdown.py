"""Markdown helpers for the design, and a small Markdown → HTML converter for `--format html`.

The converter handles exactly the subset the design writes (headings, paragraphs, bullet lists,
pipe tables, fenced code blocks, images, inline code, bold, italics) and emits well-formed XHTML,
so a page can be checked by parsing it as XML.

Blueprint text (the use case, the organisation, metric names, principals, URIs …) enters the Markdown
only through `text` (inline prose), `code` (code spans) or `mermaid_text` (diagram labels), which keep
it one line and literal: no HTML, no link, no heading or table row of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import escape

from mlops.plan.schedule import Schedule


def blocks(*parts: str) -> str:
    """Markdown blocks separated by one blank line (tables and lists need it), ending in a newline."""
    return "\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"


# Enough to keep text literal: links and images need `[`, HTML needs `<` or `&`, headings `#`, cells `|`.
# `_` and `~` at most format a word (and are common in names like Standard_DS4_v2): left as they are.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>#|&])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def _one_line(value: object) -> str:
    # A line break in blueprint text would start a block of its own (heading, table row, image, fence).
    return _LINE_BREAKS.sub(" ", str(value))


def text(value: object) -> str:
    """Blueprint text as literal inline Markdown: one line, every character that could be syntax escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(value))


def mermaid_text(value: object) -> str:
    """Blueprint text inside a quoted Mermaid label: one line, entity codes for what Mermaid would read."""
    entities = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;", "&": "#38;"}
    return "".join(entities.get(c, c) for c in _one_line(value))


def cell(text: object) -> str:
    """A table cell: pipes escaped, line breaks kept as <br>."""
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def bullets(items: Sequence[str]) -> str:
    return "".join(f"- {item}\n" for item in items)


def code(value: object) -> str:
    """A code span of `value`, one line, fenced with more backticks than it contains (CommonMark rule)."""
    literal = _one_line(value)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", literal)), default=0) + 1)
    pad = " " if literal.startswith("`") or literal.endswith("`") else ""
    return f"{fence}{pad}{literal}{pad}{fence}"


def codes(items: Sequence[object]) -> str:
    return ", ".join(code(i) for i in items)


# ------------------------------------------------------------------------------------------ HTML

_INLINE = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)|\\([!-/:-@\[-`{-~])|\*\*(.+?)\*\*"
                     r"|(?<![\w*\\])\*(?!\s)(.+?)(?<![\s\\])\*(?![\w*])|<br>")


def _inline(text: str) -> str:
    out, pos = [], 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[pos:match.start()], quote=False))
        _, code_text, escaped, bold, italic = match.groups()
        if code_text is not None:
            # CommonMark strips one space on each side of a span that needs it (a span starting with `).
            inner = code_text[1:-1] if code_text.startswith(" ") and code_text.endswith(" ") and code_text.strip() \
                else code_text
            out.append(f"<code>{escape(inner, quote=False)}</code>")
        elif escaped is not None:
            out.append(escape(escaped, quote=False))
        elif bold is not None:
            out.append(f"<strong>{_inline(bold)}</strong>")
        elif italic is not None:
            out.append(f"<em>{_inline(italic)}</em>")
        else:
            out.append("<br/>")
        pos = match.end()
    out.append(escape(text[pos:], quote=False))
    return "".join(out)


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:]
    if inner.endswith("|") and not inner.endswith("\\|"):
        inner = inner[:-1]
    return [part.strip().replace("\\|", "|") for part in re.split(r"(?<!\\)\|", inner)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def to_html(markdown: str, title: str, image: Callable[[str, str], str | None] = lambda src, alt: None) -> str:
    """A self-contained XHTML page. `image(src, alt)` may return inline markup for an image."""
    lines = markdown.splitlines()
    body: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            language = line[3:].strip()
            block: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(lines[i])
                i += 1
            klass = f' class="language-{language}"' if language else ""
            body.append(f"<pre><code{klass}>{escape(chr(10).join(block), quote=False)}</code></pre>")
            i += 1
        elif m := re.match(r"(#{1,6}) (.*)", line):
            level = len(m.group(1))
            body.append(f'<h{level} id="{_slug(m.group(2))}">{_inline(m.group(2))}</h{level}>')
            i += 1
        elif m := re.fullmatch(r"!\[([^\]]*)\]\(([^)]+)\)", line.strip()):
            alt, src = m.groups()
            inline = image(src, alt)
            body.append(f"<figure>{inline}</figure>" if inline else
                        f'<p><img src="{escape(src)}" alt="{escape(alt)}"/></p>')
            i += 1
        elif line.startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1]):
            head = "".join(f"<th>{_inline(c)}</th>" for c in _cells(line))
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(lines[i])) + "</tr>")
                i += 1
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            body.append(f"<ul>{''.join(items)}</ul>")
        elif line.startswith("> "):
            quoted = []
            while i < len(lines) and lines[i].startswith("> "):
                quoted.append(lines[i][2:])
                i += 1
            body.append(f"<blockquote><p>{_inline(' '.join(quoted))}</p></blockquote>")
        elif not line.strip():
            i += 1
        else:
            # The first line is this paragraph's whatever it starts with (a `|` that begins no table, a `![`
            # that is no image): without it the loop would never advance.
            paragraph = [line]
            i += 1
            while i < len(lines) and lines[i].strip() and not re.match(r"(#{1,6} |```|\||- |> |!\[)", lines[i]):
                paragraph.append(lines[i])
                i += 1
            body.append(f"<p>{_inline(' '.join(paragraph))}</p>")
    style = (
        "body{font-family:Helvetica,Arial,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222;"
        "line-height:1.45}table{border-collapse:collapse;margin:1em 0;font-size:0.92em}"
        "th,td{border:1px solid #ccd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f2f4f8}"
        "code{background:#f4f4f4;padding:0 3px;border-radius:3px}pre{background:#f7f7f7;padding:10px;overflow:auto}"
        "figure{margin:1em 0;overflow-x:auto}blockquote{color:#555;border-left:4px solid #ccd;margin:1em 0;"
        "padding:0 1em}h2{border-bottom:1px solid #dde;padding-bottom:4px;margin-top:2em}"
    )
    return ("<!DOCTYPE html>\n"
            '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">\n'
            f'<head><meta charset="utf-8"/><title>{escape(title)}</title><style>{style}</style></head>\n'
            "<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def schedule(resolved: Schedule | None) -> str:
    """`daily`, or a cron expression in words: `0 4 * * *` → daily at 04:00 UTC (`0 4 * * *`).

    Documents quote the schedule as the blueprint wrote it (`text`), which its readers recognise."""
    if resolved is None:
        return "—"
    expression = resolved.text
    fields = expression.split()
    if len(fields) != 5:
        return expression
    minute, hour, dom, month, dow = fields
    if minute.isdigit() and hour.isdigit():
        at = f"at {int(hour):02d}:{int(minute):02d} UTC"
        if dom == month == dow == "*":
            words = f"daily {at}"
        elif dom == month == "*" and dow.isdigit() and int(dow) < len(_DAYS):
            words = f"weekly on {_DAYS[int(dow)]} {at}"
        elif dom.isdigit() and month == dow == "*":
            words = f"monthly on day {dom} {at}"
        else:
            return f"`{expression}` (cron, UTC)"
    elif minute.isdigit() and hour == dom == month == dow == "*":
        words = f"hourly at minute {int(minute)}"
    else:
        return f"`{expression}` (cron, UTC)"
    return f"{words} (`{expression}`)"


def minutes(value: int) -> str:
    """15 min; 1440 min (24 h)."""
    return f"{value} min" + (f" ({value // 60} h)" if value >= 120 and value % 60 == 0 else "")


def years(days: int) -> str:
    """2557 days (7 years); 730 days (2 years); 400 days."""
    whole = round(days / 365.25)
    if whole >= 1 and abs(days / 365.25 - whole) < 0.05:
        return f"{days} days ({whole} year{'s' if whole > 1 else ''})"
    return f"{days} days"
