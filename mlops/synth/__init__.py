"""Offline synth: the Pulumi program under mocks, recorded as a manifest with a policy report."""

from .run import SynthError, SynthResult, synth

__all__ = ["SynthError", "SynthResult", "synth"]
