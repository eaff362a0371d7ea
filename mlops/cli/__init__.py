"""Command-line interface (typer + rich)."""

from .main import app

__all__ = ["app"]
