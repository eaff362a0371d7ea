"""Which images Azure ML runs: the team's training image at a pinned tag, curated environments at a version.

The team's CI pushes each trained model's image to `<registry>.azurecr.io/<model>/training:<tag>`. A tag
names one image only if nobody pushes it again (ACR has no registry setting that makes tags immutable:
see the README), so the stack never runs `latest`: the tag is the stack setting `mlops:imageTags`
(components.image_tags, the same setting, validation and default `1` as on AWS and GCP), read once by the
platform for the models `TRAINED_MODELS` names. A new tag is a new environment version (its version
hashes the image), hence new component versions.

Serving needs no image of ours: online and batch deployments serve the MLflow model the pipeline
registered, and Azure ML builds their environment from the model's own MLmodel/conda.yaml, which the
training run logged — so a model serves on the very framework versions it was trained with.
"""

from __future__ import annotations

TRAINED_MODELS = "a model this stack trains"
"""How an `mlops:imageTags` error names the models it may set on Azure: the platform trains every model,
whatever its framework, on the team's training image."""

RUNNER_ENVIRONMENT = "azureml://registries/azureml/environments/sklearn-1.5/versions/54"
"""The curated environment the platform's own small jobs run in (batch invocation, deployer, quality check):
a fixed version of Azure ML's `sklearn-1.5` environment, never its moving `latest` label. Their scripts use
the standard library (and the environment's MLflow), so a newer version is a deliberate change here."""
