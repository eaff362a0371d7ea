"""GCP back end (Vertex AI)."""

from .platform import VertexPlatform

__all__ = ["VertexPlatform"]
