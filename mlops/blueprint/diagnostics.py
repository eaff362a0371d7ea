"""Problems found in a blueprint, located in its source and worded for people."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PathPart = str | int
YamlPath = tuple[PathPart, ...]


def format_path(path: Sequence[PathPart]) -> str:
    """`("models", 0, "serving")` → `models[0].serving`; the empty path is the document root."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            # A key with control characters is shown escaped: the raw bytes would act on the terminal.
            name = repr(part)[1:-1] if not part.isprintable() else part
            text += f".{name}" if text else name
    return text or "(document)"


def shorten(value: object, limit: int = 60) -> str:
    """A value as a person would type it in YAML, cut to a readable length."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, dict):
        text = "a mapping" if value else "an empty mapping"
    elif isinstance(value, list):
        scalars = all(isinstance(v, str | int | float | bool) for v in value)
        text = ("[" + ", ".join(shorten(v, limit) for v in value) + "]") if value and scalars else (
            "a list" if value else "an empty list")
        if len(text) > limit:
            text = "a list"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where it is (YAML path), what is wrong, what was found and what is allowed."""

    path: YamlPath
    message: str
    got: str | None = None
    allowed: str | None = None

    def render(self, file: str, position: tuple[int, int] | None) -> str:
        line, col = position or (1, 1)
        detail = [part for part in (f"got {self.got}" if self.got is not None else None,
                                    f"allowed: {self.allowed}" if self.allowed else None) if part]
        suffix = f" ({'; '.join(detail)})" if detail else ""
        return f"{file}:{line}:{col}: {format_path(self.path)}: {self.message}{suffix}"


@dataclass
class SourceMap:
    """Line and column (1-based) of every YAML path in a document."""

    positions: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: YamlPath) -> tuple[int, int] | None:
        """The position of `path`, or of its nearest ancestor that exists in the source."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found:
                return found
        return None


class BlueprintError(Exception):
    """A blueprint that cannot be used, with every problem found in it."""

    def __init__(self, file: str, diagnostics: Iterable[Diagnostic], source: SourceMap | None = None):
        self.file = file
        self.diagnostics = list(diagnostics)
        self.source = source or SourceMap()
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [d.render(self.file, self.source.locate(d.path)) for d in self.diagnostics]
