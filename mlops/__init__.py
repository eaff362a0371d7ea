"""mlops-blueprints: compile one MLOps blueprint into Pulumi stacks and design documents.

Layers (imports run one way): cli -> synth/program -> components -> plan -> blueprint.
`blueprint` and `plan` never import pulumi, so validation and planning start fast.
"""

__version__ = "0.1.0"
