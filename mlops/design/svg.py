"""The architecture picture as SVG, drawn by our own code: deterministic, no system tools needed.

Layout: the life-cycle areas (data → features → training → registry → serving → monitoring →
retraining) sit on one row, left to right, with the data-flow arrows between them and the
retraining loop drawn over the top; supporting areas (tracking, governance, cost, alert routes,
other) sit on a second row under the area they serve, joined by dashed control-flow lines.
Solid boxes are resources from the synthesized graph, dashed boxes are planned capabilities the
cloud's back end does not build yet, rounded grey boxes are external systems.
"""

from __future__ import annotations

from textwrap import wrap
from xml.sax.saxutils import escape, quoteattr

from .architecture import AREA_BY_KEY, Architecture, AreaView, Box

COL_W = 226
GAP = 84
MARGIN = 24
TOP = 96
HEADER = 30
LINE = 14
BOX_PAD = 8
ROW_GAP = 76
CHARS = 31  # characters that fit one line of a box at 11 px

PALETTE = {
    "data": "#e8f1fb", "features": "#e9f7ef", "training": "#fff4e0", "registry": "#f3ecfb",
    "serving": "#e6f6f7", "monitoring": "#fdecea", "retraining": "#fff9db", "tracking": "#eef2f7",
    "governance": "#f1f1f1", "cost": "#f7f3e8", "alerts": "#fbe9f1", "other": "#ffffff",
}
# Where a supporting area sits: under the life-cycle area it serves.
UNDER = {"tracking": "training", "governance": "registry", "alerts": "monitoring", "cost": "data",
         "other": "retraining"}


def _clip(text: str, width: int = CHARS) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _wrapped(text: str, width: int) -> list[str]:
    """`text` wrapped to the box: at most two rows, the second clipped."""
    parts = wrap(text, width, break_long_words=True) or [""]
    return parts if len(parts) <= 2 else [parts[0], _clip(" ".join(parts[1:]), width)]


def _box_lines(box: Box) -> list[tuple[str, bool]]:
    """(row, bold): the title in bold, then each line, wrapped to the box."""
    rows = [(row, True) for row in _wrapped(box.title, CHARS - 4)]
    for line in box.lines:
        rows += [(row, False) for row in _wrapped(line, CHARS)]
    return rows


def _box_height(box: Box) -> int:
    return LINE * len(_box_lines(box)) + 2 * BOX_PAD


def _area_height(area: AreaView) -> int:
    return HEADER + sum(_box_height(b) + 8 for b in area.boxes) + 8


def _text(x: int, y: int, text: str, *, size: int = 11, weight: str = "normal", anchor: str = "start",
          fill: str = "#222") -> str:
    return (f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
            f'fill="{fill}">{escape(text)}</text>')


def _draw_area(area: AreaView, x: int, y: int, height: int) -> list[str]:
    caps = " ".join(c.value for c in AREA_BY_KEY[area.key].capabilities)
    out = [f'<g id="area-{area.key}" class="area" data-capabilities={quoteattr(caps)}>',
           f"<title>{escape(area.title)}</title>",
           f'<rect x="{x}" y="{y}" width="{COL_W}" height="{height}" rx="8" fill="{PALETTE[area.key]}" '
           'stroke="#7a869a" stroke-width="1.2"/>',
           _text(x + 10, y + 20, area.title, size=13, weight="bold")]
    cy = y + HEADER
    for box in area.boxes:
        h = _box_height(box)
        style = {"resources": 'fill="#ffffff" stroke="#44546a" stroke-width="1"',
                 "planned": 'fill="#f6f6f6" stroke="#8a8a8a" stroke-width="1" stroke-dasharray="5 4"',
                 "external": 'fill="#ececec" stroke="#8a8a8a" stroke-width="1"'}[box.kind]
        rx = 12 if box.kind == "external" else 4
        out.append(f'<g class="box {box.kind}" id="box-{box.id}">')
        out.append(f'<rect x="{x + 8}" y="{cy}" width="{COL_W - 16}" height="{h}" rx="{rx}" {style}/>')
        for i, (line, bold) in enumerate(_box_lines(box)):
            out.append(_text(x + 16, cy + BOX_PAD + LINE * (i + 1) - 3, line, size=11,
                             weight="bold" if bold else "normal",
                             fill="#555" if box.kind == "planned" else "#222"))
        out.append("</g>")
        cy += h + 8
    out.append("</g>")
    return out


def render_svg(arch: Architecture) -> str:
    """The picture of `arch` as a standalone SVG document."""
    top_row = [a for a in arch.areas if a.lifecycle]
    support = [a for a in arch.areas if not a.lifecycle]
    column = {a.key: i for i, a in enumerate(top_row)}
    taken: set[int] = set()
    for area in support:
        col = column.get(UNDER.get(area.key, ""), 0)
        while col in taken:
            col += 1
        taken.add(col)
        column[area.key] = col
    columns = max(column.values(), default=0) + 1
    width = 2 * MARGIN + columns * COL_W + (columns - 1) * GAP
    top_h = max((_area_height(a) for a in top_row), default=0)
    support_y = TOP + top_h + ROW_GAP
    support_h = max((_area_height(a) for a in support), default=0)
    height = support_y + support_h + 70

    def x_of(key: str) -> int:
        return MARGIN + column[key] * (COL_W + GAP)

    geometry = {a.key: (x_of(a.key), TOP if a.lifecycle else support_y, _area_height(a)) for a in arch.areas}
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
        f"<title>{escape(arch.title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#44546a"/></marker></defs>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        _text(MARGIN, 30, arch.title, size=16, weight="bold"),
        _text(MARGIN, 50, f"{arch.resource_count} cloud resources in the synthesized graph, grouped by capability; "
              "arrows: data flow; dashed lines: control flow", size=11, fill="#555"),
    ]
    for area in arch.areas:
        x, y, h = geometry[area.key]
        out += _draw_area(area, x, y, h)
    for flow in arch.flows:
        sx, sy, sh = geometry[flow.source]
        tx, ty, th = geometry[flow.target]
        out.append(f'<g class="flow {flow.kind}" data-from="{flow.source}" data-to="{flow.target}">')
        out.append(f"<title>{escape(flow.label)}</title>")
        if sy == ty and tx > sx:  # neighbours on the life-cycle row
            y = sy + 22
            out.append(f'<line x1="{sx + COL_W}" y1="{y}" x2="{tx - 2}" y2="{y}" stroke="#44546a" '
                       'stroke-width="1.6" marker-end="url(#arrow)"/>')
            for i, part in enumerate(wrap(flow.label, 13)[:4]):
                out.append(_text((sx + COL_W + tx) // 2, y + 16 + 11 * i, part, size=9, anchor="middle",
                                 fill="#44546a"))
        elif sy == ty:  # the retraining loop, over the top of the row
            loop_y = sy - 26
            out.append(f'<path d="M {sx + COL_W // 2} {sy} L {sx + COL_W // 2} {loop_y} L {tx + COL_W // 2} {loop_y} '
                       f'L {tx + COL_W // 2} {ty - 2}" fill="none" stroke="#44546a" stroke-width="1.6" '
                       'marker-end="url(#arrow)"/>')
            out.append(_text((sx + tx + COL_W) // 2, loop_y - 6, flow.label, size=10, anchor="middle",
                             fill="#44546a"))
        else:  # between the rows: from the bottom of the upper area to the top of the lower one
            upper_is_source = sy < ty
            ux, uy, uh = (sx, sy, sh) if upper_is_source else (tx, ty, th)
            lx, ly, _ = (tx, ty, th) if upper_is_source else (sx, sy, sh)
            x1, y1, x2, y2 = ux + COL_W // 2, uy + uh, lx + COL_W // 2, ly
            if not upper_is_source:
                x1, y1, x2, y2 = x2, y2, x1, y1
            out.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2 - 2 if upper_is_source else y2 + 2}" '
                       'stroke="#44546a" stroke-width="1.3" stroke-dasharray="6 4" marker-end="url(#arrow)"/>')
            out.append(_text((x1 + x2) // 2 + 6, (y1 + y2) // 2, flow.label, size=9, fill="#44546a"))
        out.append("</g>")
    legend_y = height - 30
    out += [
        f'<rect x="{MARGIN}" y="{legend_y - 11}" width="26" height="14" fill="#ffffff" stroke="#44546a"/>',
        _text(MARGIN + 34, legend_y, "built: resources in the synthesized graph", size=11),
        f'<rect x="{MARGIN + 300}" y="{legend_y - 11}" width="26" height="14" fill="#f6f6f6" stroke="#8a8a8a" '
        'stroke-dasharray="5 4"/>',
        _text(MARGIN + 334, legend_y, f"planned, not yet built on {arch.cloud.value}", size=11),
        f'<rect x="{MARGIN + 600}" y="{legend_y - 11}" width="26" height="14" rx="6" fill="#ececec" '
        'stroke="#8a8a8a"/>',
        _text(MARGIN + 634, legend_y, "external: data sources, alert routes", size=11),
        "</svg>",
    ]
    return "\n".join(out) + "\n"
