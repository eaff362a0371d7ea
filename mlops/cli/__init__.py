"""Command-line interface (typer + rich)."""

from .app import app

__all__ = ["app"]
