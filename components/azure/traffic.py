"""Who owns an online endpoint's traffic, and the pure functions that describe it (no pulumi import).

Azure ML refuses `traffic` and `mirror_traffic` that name a deployment which does not exist yet, and
deployments need their endpoint first. So the split is applied in three steps, each with one owner:

1. IaC creates the endpoint with no traffic (`OnlineEndpoint`). Azure ML replaces an endpoint's
   whole definition on every update, so a later Pulumi update of that resource, which knows no
   split, would empty the split: the resource ignores changes to its `properties` and `tags`
   after creation (`ENDPOINT_OWNED_ELSEWHERE`), and step 2 carries every later endpoint change.
2. IaC creates the deployments (`blue`, the champion, and `shadow` when shadow testing), then
   applies the endpoint's full definition with the *resting split* in an incremental ARM
   deployment (`initial_split_template`): blue 100 %, shadow mirrored at the blueprint's share.
   It is re-applied only when the template changes (tags, the shadow share, security settings);
   running `pulumi up` with such a change during a rollout returns all traffic to `blue`.
3. The deploy step (on approval: `deployer.py`, `scripts/deploy_approved.py`) owns the split from
   then on: it rolls a new version out with `rollout_steps` (canary: a share first, blue/green: all
   at once after a green deployment is ready), bakes, moves the version into `blue` and returns to
   the resting split, so that the endpoint at rest always matches what IaC created and `pulumi up`
   never fights a rollout.

The shadow deployment's model is the team's to choose (`az ml online-deployment update` to the
challenger under test); IaC creates it on the first version and ignores its model afterwards.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from mlops.plan import ModelPlan
from mlops.plan.vocabulary import DeliveryStrategy

from .serving_names import CHAMPION_DEPLOYMENT, SHADOW_DEPLOYMENT

ENDPOINT_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
ENDPOINT_API_VERSION = "2024-10-01"
"""A stable API version with `mirrorTraffic` (the SDK's own is newer; both accept these properties)."""
ENDPOINT_OWNED_ELSEWHERE = ["properties", "tags"]
"""What the `OnlineEndpoint` resource ignores after creation: the ARM deployment and the deploy step own it."""
CANDIDATE_DEPLOYMENT = "green"
"""The deployment the deploy step creates for a new version during a canary or blue/green rollout."""
MAX_MIRROR_PERCENT = 50


class EndpointProperties(TypedDict):
    authMode: Literal["AADToken", "Key", "AMLToken"]
    publicNetworkAccess: Literal["Enabled", "Disabled"]
    description: str
    traffic: dict[str, int]
    mirrorTraffic: dict[str, int]


class TemplateIdentity(TypedDict):
    type: Literal["UserAssigned"]
    userAssignedIdentities: dict[str, dict[str, str]]


class TemplateResource(TypedDict):
    type: str
    apiVersion: str
    name: str
    location: str
    identity: TemplateIdentity
    tags: dict[str, str]
    properties: EndpointProperties


class TemplateParameter(TypedDict):
    type: Literal["string"]


class ArmTemplate(TypedDict):
    """An ARM deployment template (schema 2019-04-01) with one resource."""

    # `$schema` is not a Python identifier: the functional TypedDict form would be needed; ARM
    # accepts templates without it.
    contentVersion: str
    parameters: dict[str, TemplateParameter]
    resources: list[TemplateResource]


class TrafficStep(TypedDict):
    traffic: dict[str, int]
    bake_minutes: int


def resting_split() -> dict[str, int]:
    """The champion takes every request when no rollout is running."""
    return {CHAMPION_DEPLOYMENT: 100}


def mirror_split(model: ModelPlan) -> dict[str, int]:
    """The shadow's share of copied requests (whole percent, at most 50: the plan refuses more)."""
    s = model.serving
    if s is None or s.shadow is None:
        return {}
    percent = round(s.shadow.sample_percent)
    if not 0 < percent <= MAX_MIRROR_PERCENT:
        raise ValueError(f"{model.name}: Azure ML mirrors 1-{MAX_MIRROR_PERCENT} % of traffic (got {percent})")
    return {SHADOW_DEPLOYMENT: percent}


def endpoint_description(prefix: str, model: str) -> str:
    return f"{prefix}: real-time predictions of {model}"


def endpoint_properties(model: ModelPlan, *, description: str, traffic: dict[str, int] | None = None,
                        mirror: dict[str, int] | None = None) -> EndpointProperties:
    """Entra ID tokens only (no keys to leak or rotate); reachable through private endpoints only."""
    return EndpointProperties(authMode="AADToken", publicNetworkAccess="Disabled", description=description,
                              traffic=traffic if traffic is not None else {},
                              mirrorTraffic=mirror if mirror is not None else {})


def initial_split_template(model: ModelPlan, *, endpoint: str, region: str, tags: dict[str, str],
                           description: str) -> ArmTemplate:
    """The incremental ARM deployment that applies the resting split once the deployments exist.

    Workspace name and identity id are template parameters (`workspace`, `identity`) so that the
    template itself is plain data, known offline and compared as such by `pulumi preview`.
    """
    return ArmTemplate(
        contentVersion="1.0.0.0",
        parameters={"workspace": TemplateParameter(type="string"), "identity": TemplateParameter(type="string")},
        resources=[TemplateResource(
            type=ENDPOINT_TYPE,
            apiVersion=ENDPOINT_API_VERSION,
            name=f"[concat(parameters('workspace'), '/', '{endpoint}')]",
            location=region,
            identity=TemplateIdentity(type="UserAssigned",
                                      userAssignedIdentities={"[parameters('identity')]": {}}),
            tags=tags,
            properties=endpoint_properties(model, description=description, traffic=resting_split(),
                                           mirror=mirror_split(model)),
        )],
    )


def rollout_steps(model: ModelPlan) -> list[TrafficStep]:
    """The splits the deploy step walks through for a new version (in `green`), ending at rest.

    The plan's steps (`DeliveryPlan.steps`, whole percentages ending at 100) each become a split with that
    share to green, baked: canary (p, then all), rolling (p, 2p … below 100, then all), blue_green (all).
    all_at_once: Azure replaces `blue`'s instances in place (no split to walk). Every path ends with the
    version moved into `blue` and the resting split.
    """
    s = model.serving
    if s is None:
        return []
    d = s.delivery
    steps: list[TrafficStep] = []
    if d.strategy != DeliveryStrategy.all_at_once:
        steps += [TrafficStep(traffic={CHAMPION_DEPLOYMENT: 100 - share, CANDIDATE_DEPLOYMENT: share},
                              bake_minutes=d.bake_minutes) for share in d.steps]
    steps.append(TrafficStep(traffic=resting_split(), bake_minutes=0))
    return steps
