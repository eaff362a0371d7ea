"""AWS back end (SageMaker)."""

from .platform import SageMakerPlatform

__all__ = ["SageMakerPlatform"]
