"""The blueprint layer: the YAML model, its loader and its cross-field rules (no pulumi here)."""

from .diagnostics import BlueprintError, Diagnostic, SourceMap, format_path
from .loader import LoadedBlueprint, load_blueprint, load_text
from .model import Blueprint, Cloud, Dimension

__all__ = [
    "Blueprint",
    "BlueprintError",
    "Cloud",
    "Diagnostic",
    "Dimension",
    "LoadedBlueprint",
    "SourceMap",
    "format_path",
    "load_blueprint",
    "load_text",
]
