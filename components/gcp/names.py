"""Physical names several GCP components must agree on (one definition, so they cannot drift).

Areas add their own names here with small edits; each function says who creates the resource and who
refers to it.
"""

from __future__ import annotations

import hashlib

from mlops.plan import Plan

from .foundation import fit_name

WORKFLOW_NAME_MAX = 64
ENDPOINT_ID_DIGITS = 10


def endpoint_id(plan: Plan, model: str) -> str:
    """The Vertex endpoint id of a model (serving creates it; the deployer and monitors refer to it).

    Vertex takes a user-chosen endpoint id only as a number of at most 10 digits without a leading
    zero, so the id is derived from `<prefix>/<model>`: stable across runs, different per model.
    """
    digest = int(hashlib.sha256(f"{plan.prefix}/{model}".encode()).hexdigest(), 16)
    return str(10 ** (ENDPOINT_ID_DIGITS - 1) + digest % (9 * 10 ** (ENDPOINT_ID_DIGITS - 1)))


def deployer_workflow_name(plan: Plan, model: str) -> str:
    """Workflow that rolls an approved version onto the model's endpoint (serving creates it; the
    pipelines area's promotion workflow calls it)."""
    return fit_name(f"{plan.prefix}-{model}-deploy", WORKFLOW_NAME_MAX)


def promotion_workflow_name(plan: Plan, model: str) -> str:
    """Workflow only approvers may invoke: moves the `champion` alias, then calls the deployer
    (pipelines area creates it)."""
    return fit_name(f"{plan.prefix}-{model}-promote", WORKFLOW_NAME_MAX)


def pipeline_display_name(plan: Plan, model: str) -> str:
    """Display name of a model's Vertex pipeline runs and its registered model (pipelines area)."""
    return f"{plan.prefix}-{model}-training"


MODEL_ID_MAX = 63


def model_id(plan: Plan, model: str) -> str:
    """The Vertex model id a model's versions are uploaded under (pipelines area: the register step creates
    it on the first run; the promotion workflow moves its aliases; serving deploys its versions)."""
    return fit_name(f"{plan.prefix}-{model}", MODEL_ID_MAX)


def retraining_workflow_name(plan: Plan, model: str) -> str:
    """Workflow that starts a model's training pipeline run (pipelines area: Eventarc and people invoke it)."""
    return fit_name(f"{plan.prefix}-{model}-retrain", WORKFLOW_NAME_MAX)


METADATA_STORE = "default"
"""The metadata store Vertex AI Experiments uses in a location (tracking creates it, CMEK)."""
EXPERIMENT_NAME_MAX = 128


def experiment_id(plan: Plan, model: str) -> str:
    """A model's Vertex AI experiment (its pipeline runs create it and join it; its training jobs name it)."""
    return fit_name(f"{plan.prefix}-{model}", EXPERIMENT_NAME_MAX)


def experiment_context(project: str, plan: Plan, model: str) -> str:
    """The experiment's resource name, as `CustomJobSpec.experiment` takes it."""
    return (f"projects/{project}/locations/{plan.region}/metadataStores/{METADATA_STORE}/contexts/"
            f"{experiment_id(plan, model)}")
