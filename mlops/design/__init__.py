"""Design documents: the platform design a lead presents, generated from the blueprint that builds the stacks.

Six sections (maturity scorecard, architecture, pipeline specifications, monitoring framework,
governance model, implementation roadmap), each a pure function of a `DesignInput`: the plans of
every environment, the synthesized resource graph (for the architecture) and the back end's
evidence. No pulumi import here except in `run.synthesized_graph`, which runs the synth.
"""

from .architecture import GraphNode, architecture, classify, mermaid
from .document import PICTURE, SECTIONS, files, render_html, render_markdown, render_picture
from .inputs import DesignInput

__all__ = [
    "PICTURE",
    "SECTIONS",
    "DesignInput",
    "GraphNode",
    "architecture",
    "classify",
    "files",
    "mermaid",
    "render_html",
    "render_markdown",
    "render_picture",
]
