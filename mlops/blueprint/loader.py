"""Read a blueprint file: YAML with positions → pydantic model → cross-field rules.

Every problem comes back at once as a `BlueprintError` whose lines read
`file:line:col: yaml.path: message (got X; allowed: …)`.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .diagnostics import BlueprintError, Diagnostic, SourceMap, YamlPath, shorten
from .model import Blueprint
from .rules import check_rules

REQUIRED_TOP_LEVEL = ("name", "use_case", "organisation", "cloud", "maturity", "models")


@dataclass(frozen=True)
class LoadedBlueprint:
    """A validated blueprint with the file it came from and where each YAML path stands in it."""

    path: str
    blueprint: Blueprint
    source: SourceMap


def _walk(node: yaml.Node, path: YamlPath, source: SourceMap, problems: list[Diagnostic]) -> Any:
    """Turn a composed YAML node into plain data, recording the position of every path."""
    source.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(" ").construct_object(key_node)  # scalars only, plain types
            if not isinstance(key, str | int | float | bool) or key is None:
                problems.append(Diagnostic(path, "mapping keys must be plain names", got=shorten(key)))
                continue
            key_path = (*path, str(key))
            if str(key) in result:
                problems.append(Diagnostic(key_path, "duplicate key: only one is allowed"))
            result[str(key)] = _walk(value_node, key_path, source, problems)
            # Problems with a value are reported at its key (the value node's position is overwritten).
            source.positions[key_path] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), source, problems) for i, item in enumerate(node.value)]
    return yaml.SafeLoader(" ").construct_object(node)


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse YAML text into plain data and a source map; syntax errors become diagnostics."""
    source = SourceMap()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        source.positions[()] = position
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            # Where the unfinished construct began is usually where the mistake is.
            context += f" started at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        syntax = Diagnostic((), f"YAML syntax error: {problem}{context}")
        raise BlueprintError(file, [syntax], source) from None
    except yaml.YAMLError as exc:
        raise BlueprintError(file, [Diagnostic((), f"YAML syntax error: {exc}")], source) from None
    if node is None:
        return None, source
    problems: list[Diagnostic] = []
    data = _walk(node, (), source, problems)
    if problems:
        raise BlueprintError(file, problems, source)
    return data, source


# --------------------------------------------------------------------------- pydantic errors → diagnostics


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types behind Optional/Union/Annotated."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _model_at(path: YamlPath) -> type[BaseModel] | None:
    """The blueprint model class that describes the mapping at `path`, if any."""
    candidates: list[Any] = [Blueprint]
    for part in path:
        following: list[Any] = []
        for candidate in candidates:
            origin = typing.get_origin(candidate)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                field = candidate.model_fields.get(str(part))
                if field is not None:
                    following.extend(_unwrap(field.annotation))
            elif origin is list and isinstance(part, int):
                following.extend(_unwrap(typing.get_args(candidate)[0]))
            elif origin is dict:
                following.extend(_unwrap(typing.get_args(candidate)[1]))
        candidates = following
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if models else None


def _clean_loc(loc: tuple[int | str, ...], data: Any) -> YamlPath:
    """Keep only the parts of a pydantic location that exist in the document (drops union tags)."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and str(part) in current:
            path.append(str(part))
            current = current[str(part)]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            path.append(part)
            current = current[part]
        elif (isinstance(current, dict) and isinstance(part, str) and part not in current
              and not path_tag(part)):
            path.append(part)  # a missing or unknown key: point at it
            break
    return tuple(path)


def path_tag(part: str) -> bool:
    """Pydantic's names for union members and validators, which are not YAML keys."""
    return "[" in part or part in {"str", "int", "float", "bool"} or part[:1].isupper()


def _allowed_for(error: ErrorDetails) -> str | None:
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"]).replace("'", "")
    if "pattern" in ctx:
        return f"text matching {ctx['pattern']}"
    for key, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if key in ctx:
            return f"{word} {ctx[key]}"
    if "min_length" in ctx:
        return f"at least {ctx['min_length']} item(s)/character(s)"
    if "max_length" in ctx:
        return f"at most {ctx['max_length']} item(s)/character(s)"
    return None


_TYPE_WORDS = {
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list (lines starting with '- ')",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number (not NaN or infinity)",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
}


# Numbers and booleans are strict (mlops.blueprint.model.Int/Float/Bool): say what to write instead.
_SCALAR_ALLOWED = {
    "int": "a whole number without quotes, such as 12",
    "float": "a number without quotes, such as 0.8",
    "bool": "true or false without quotes",
}


def _diagnostic(error: ErrorDetails, data: Any) -> Diagnostic:
    path = _clean_loc(tuple(error["loc"]), data)
    kind = error["type"]
    scalar = kind.removesuffix("_type")
    if scalar in _SCALAR_ALLOWED:
        text = ", not text" if isinstance(error["input"], str) else ""
        return Diagnostic(path, f"{_TYPE_WORDS[kind]}{text}", got=shorten(error["input"]),
                          allowed=_SCALAR_ALLOWED[scalar])
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        model = _model_at(path[:-1])
        allowed = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return Diagnostic(path, f"unknown key{hint}", got=repr(key), allowed=", ".join(allowed) or None)
    if kind == "missing":
        model = _model_at(path[:-1])
        field = model.model_fields.get(str(path[-1])) if model and path else None
        about = f" ({field.description})" if field and field.description else ""
        return Diagnostic(path, f"required key is missing{about}")
    if kind in ("enum", "literal_error"):
        return Diagnostic(path, "not one of the allowed values", got=shorten(error["input"]),
                          allowed=_allowed_for(error))
    message = _TYPE_WORDS.get(kind) or error["msg"].replace("Value error, ", "")
    if kind.startswith(("greater", "less")):
        message = "out of range"
    elif kind == "string_pattern_mismatch":
        message = "not a valid name"
    elif kind.startswith("too_short"):
        message = "too short" if isinstance(error["input"], str) else "needs more items"
    elif kind.startswith("too_long"):
        message = "too long"
    return Diagnostic(path, message, got=shorten(error["input"]), allowed=_allowed_for(error))


def _merge_union_errors(errors: list[ErrorDetails], data: Any) -> list[Diagnostic]:
    """One diagnostic per location: a union field fails once per member, say it once."""
    seen: dict[YamlPath, Diagnostic] = {}
    for error in errors:
        diagnostic = _diagnostic(error, data)
        key = diagnostic.path if diagnostic.message != "unknown key" else (*diagnostic.path, "?unknown")
        if diagnostic.path in seen and "unknown key" not in diagnostic.message:
            # A control character fails every member of a union (`InstanceSize | Text`); saying so beats
            # "not one of the allowed values", which hides the invisible character.
            if diagnostic.message.startswith("control character"):
                seen[key] = diagnostic
            continue
        seen.setdefault(key, diagnostic)
    return list(seen.values())


def validate_data(data: Any, file: str, source: SourceMap) -> Blueprint:
    """Validate plain data (from YAML) into a Blueprint, then apply the cross-field rules."""
    if data is None:
        raise BlueprintError(file, [Diagnostic((), "the file is empty; a blueprint needs at least: "
                                                   + ", ".join(REQUIRED_TOP_LEVEL))], source)
    if not isinstance(data, dict):
        raise BlueprintError(file, [Diagnostic((), "expected a mapping of blueprint sections",
                                               got=shorten(data),
                                               allowed="keys such as " + ", ".join(REQUIRED_TOP_LEVEL))],
                             source)
    try:
        blueprint = Blueprint.model_validate(data)
    except ValidationError as exc:
        raise BlueprintError(file, _merge_union_errors(exc.errors(), data), source) from None
    problems = check_rules(blueprint)
    if problems:
        raise BlueprintError(file, problems, source)
    return blueprint


def load_text(text: str, file: str = "<blueprint>") -> LoadedBlueprint:
    data, source = parse_yaml(text, file)
    return LoadedBlueprint(file, validate_data(data, file, source), source)


def load_blueprint(path: str | Path) -> LoadedBlueprint:
    """Load and validate a blueprint file; raises BlueprintError with every problem found."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BlueprintError(file, [Diagnostic((), "file not found")]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        unreadable = Diagnostic((), f"cannot read the file: {exc.__class__.__name__}")
        raise BlueprintError(file, [unreadable]) from None
    return load_text(text, file)
