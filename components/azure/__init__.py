"""Azure back end (Azure ML)."""

from .platform import AzureMlPlatform

__all__ = ["AzureMlPlatform"]
