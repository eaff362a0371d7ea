"""A mock engine that records the resource graph exactly as `pulumi preview` would send it."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor

from mlops.policies.engine import UNKNOWN_MARK

# Markers the Pulumi wire format uses inside property values.
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def plain(value: Any) -> Any:
    """Wire values → JSON: whole floats back to ints, secrets masked, resource references as URNs."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            return "[secret]"
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == _UNKNOWN:
        return UNKNOWN_MARK
    return value


@dataclass
class Recorded:
    """One RegisterResource call as the engine receives it."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str | None

    def manifest(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "inputs": self.inputs,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "provider": self.provider,
        }


# What `azure-native:authorization:getClientConfig` returns offline: fixed, obviously fake ids.
_AZURE_CLIENT_CONFIG = {
    "tenantId": "00000000-0000-0000-0000-000000000001",
    "subscriptionId": "00000000-0000-0000-0000-000000000002",
    "objectId": "00000000-0000-0000-0000-000000000003",
    "clientId": "00000000-0000-0000-0000-000000000004",
}


# AWS look-ups (invokes) the AWS back end makes, answered with fixed, obviously fake values.
_AWS_LOOKUPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    # Zone names are per account; the platform asks for the zones of the stack's region.
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a: {
        "names": [f"{a.get('region', 'us-east-1')}{z}" for z in "abc"],
        "zoneIds": [f"mock-az{n}" for n in (1, 2, 3)], "id": a.get("region", "us-east-1")},
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": "123456789012", "arn": "arn:aws:iam::123456789012:root", "userId": "123456789012",
        "id": "123456789012"},
    "aws:ec2/getVpc:getVpc": lambda a: {"id": a.get("id"), "cidrBlock": "10.0.0.0/16",
                                        "arn": f"arn:mock:aws:ec2/vpc:Vpc:{a.get('id')}"},
    "aws:ec2/getPrefixList:getPrefixList": lambda a: {"id": "pl-mock-s3", "name": a.get("name"), "cidrBlocks": []},
    # SageMaker's prebuilt images live in AWS-owned registries that differ per region; the provider
    # knows the map. Offline: a fake registry account, the real repository and tag.
    "aws:sagemaker/getPrebuiltEcrImage:getPrebuiltEcrImage": lambda a: {
        "registryId": "000000000000", "id": "000000000000",
        "registryPath": f"000000000000.dkr.ecr.{a.get('region', 'us-east-1')}.amazonaws.com/"
                        f"{a['repositoryName']}:{a.get('imageTag', 'latest')}",
        "repositoryName": a["repositoryName"], "imageTag": a.get("imageTag"), "region": a.get("region")},
}


def _identity_as_returned(outputs: dict[str, Any]) -> None:
    """azure-native takes user-assigned identities as a list of ids but returns a map keyed by id (the SDK
    refuses a list back). In a preview an id may be unknown: the map then has that sentinel as its key."""
    identity = outputs.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
        assigned: dict[str, dict[str, Any]] = {str(i): {} for i in identity["userAssignedIdentities"]}
        outputs["identity"] = {**identity, "userAssignedIdentities": assigned}


class PlatformMocks(pulumi.runtime.Mocks):
    """Deterministic stand-ins for what the cloud would return: ids and ARNs derived from names."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        physical = outputs.get("name") or outputs.get("bucket") or args.name
        outputs.setdefault("arn", f"arn:mock:{args.typ}:{args.name}")
        outputs.setdefault("bucket", physical)
        outputs.setdefault("keyId", f"{args.name}-key-id")
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            # Azure assigns these ids; role assignments and stack outputs read them.
            for key in ("principalId", "clientId"):
                outputs.setdefault(key, str(uuid.uuid5(uuid.NAMESPACE_URL, f"mock:{key}:{args.name}")))
        if args.typ == "azure-native:keyvault:Key":
            # Key Vault names each key version; services pinned to a version (Databricks) read it.
            uri = f"https://{outputs.get('vaultName')}.vault.azure.net/keys/{outputs.get('keyName')}"
            outputs.setdefault("keyUri", uri)
            outputs.setdefault("keyUriWithVersion", f"{uri}/{uuid.uuid5(uuid.NAMESPACE_URL, uri).hex}")
        if args.typ == "gcp:storage/bucket:Bucket":
            # Pulumi auto-names a bucket without a name (the engine, not the provider): its logical name here.
            outputs.setdefault("name", physical)
        if args.typ == "gcp:serviceaccount/account:Account":
            # GCP derives the email (and the IAM member string) from the account id and project.
            project = outputs.get("project") or "default-project"
            email = f"{outputs['accountId']}@{project}.iam.gserviceaccount.com"
            outputs.setdefault("email", email)
            outputs.setdefault("member", f"serviceAccount:{email}")
            outputs.setdefault("name", f"projects/{project}/serviceAccounts/{email}")
        online_store = args.typ == "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore"
        if online_store and outputs.get("dedicatedServingEndpoint"):
            # Vertex publishes a service attachment for a Private Service Connect serving endpoint.
            outputs["dedicatedServingEndpoint"] = {
                **outputs["dedicatedServingEndpoint"],
                "serviceAttachment": f"projects/mock-tenant/regions/{outputs.get('region')}/serviceAttachments/"
                                     f"{outputs.get('name')}"}
        if args.typ == "gcp:logging/projectSink:ProjectSink":
            # A sink with its own writer identity: Cloud Logging's per-project service agent.
            project = outputs.get("project") or "default-project"
            outputs.setdefault("writerIdentity",
                               f"serviceAccount:service-{project}@gcp-sa-logging.iam.gserviceaccount.com")
        if args.typ == "gcp:projects/serviceIdentity:ServiceIdentity":
            # A Google service agent (really named after the project number and the service).
            project = outputs.get("project") or "default-project"
            agent = outputs["service"].split(".")[0]
            email = f"service-{project}@gcp-sa-{agent}.iam.gserviceaccount.com"
            outputs.setdefault("email", email)
            outputs.setdefault("member", f"serviceAccount:{email}")
        if args.typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and outputs.get("vpcEndpointType") == "Gateway":
            # AWS answers with the managed prefix list of the service (security groups allow egress to it).
            outputs.setdefault("prefixListId", f"pl-{args.name}")
        _identity_as_returned(outputs)
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            # The project's Cloud Storage service agent (really named after the project number).
            project = args.args.get("project") or "default-project"
            return {"emailAddress": f"service-{project}@gs-project-accounts.iam.gserviceaccount.com"}, []
        if args.token == "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount":
            # The project's BigQuery service agent (encrypts CMEK datasets; really named after the project number).
            project = args.args.get("project") or "default-project"
            email = f"bq-{project}@bigquery-encryption.iam.gserviceaccount.com"
            return {"email": email, "member": f"serviceAccount:{email}", "id": project}, []
        if args.token == "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount":
            # BigQuery's encryption service account (CMEK datasets and tables need it on the key).
            email = f"bq-{args.args.get('project') or 'default-project'}@bigquery-encryption.iam.gserviceaccount.com"
            return {"email": email, "member": f"serviceAccount:{email}"}, []
        if args.token == "gcp:organizations/getProject:getProject":
            # The project number (Cloud Billing budgets filter on it, Vertex's `network` fields name networks by
            # it), derived from the project id: 12 digits, as real project numbers are.
            project = args.args.get("projectId") or "default-project"
            number = str(int(hashlib.sha256(project.encode()).hexdigest(), 16) % 10**12).zfill(12)
            # As the provider answers: `id` is the resource path, `name` the display name (the id by default).
            return {"id": f"projects/{project}", "projectId": project, "number": number, "name": project}, []
        if args.token == "gcp:artifactregistry/getDockerImage:getDockerImage":
            # An image by tag, answered as Artifact Registry does: its URI by digest (offline: a digest of the name).
            a = args.args
            image, _, tag = str(a["imageName"]).partition(":")
            digest = hashlib.sha256(f"{a.get('project')}/{a['repositoryId']}/{a['imageName']}".encode()).hexdigest()
            path = f"{a['location']}-docker.pkg.dev/{a.get('project')}/{a['repositoryId']}/{image}"
            return {"id": f"{path}@sha256:{digest}", "selfLink": f"{path}@sha256:{digest}", "imageName": image,
                    "location": a["location"], "project": a.get("project"), "repositoryId": a["repositoryId"],
                    "tags": [tag] if tag else [], "name": f"projects/{a.get('project')}/locations/{a['location']}/"
                    f"repositories/{a['repositoryId']}/dockerImages/{image}@sha256:{digest}"}, []
        if args.token == "gcp:organizations/getClientConfig:getClientConfig":
            return {"project": "default-project", "region": "us-central1", "accessToken": "mock"}, []
        if args.token == "azure-native:logic:listWorkflowTriggerCallbackUrl":
            # Logic Apps signs trigger URLs; offline: an obviously fake one.
            return {"value": f"https://example.invalid/logic/{args.args.get('workflowName')}/triggers/"
                             f"{args.args.get('triggerName')}/run"}, []
        if args.token == "azure-native:authorization:getClientConfig":
            return dict(_AZURE_CLIENT_CONFIG), []
        if args.token in _AWS_LOOKUPS:
            return _AWS_LOOKUPS[args.token](args.args), []
        return {}, []


# Properties the engine fills in itself (auto-names) before any provider runs: known in a preview too.
_ENGINE_NAMED = {"aws:s3/bucket:Bucket": "bucket", "gcp:storage/bucket:Bucket": "name"}


class PreviewMocks(PlatformMocks):
    """What a first `pulumi preview` knows of each resource it would create: its inputs, and nothing the cloud
    assigns. No id, ARN, e-mail or other provider output comes back, so every input built from one (a bucket
    id, a key ARN, a policy document rendered from ARNs) reaches the engine unknown, as on a first preview.
    Look-ups (invokes) still answer: the CLI runs them in a preview too."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        named = _ENGINE_NAMED.get(args.typ)
        if named:
            outputs.setdefault(named, args.name)
        _identity_as_returned(outputs)
        return None, outputs


class RecordingMonitor(MockMonitor):
    """MockMonitor that keeps every RegisterResource request (parent, deps, protect …)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[Recorded] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        inputs = plain(json_format.MessageToDict(request.object))
        record = Recorded(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            inputs=inputs,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={
                key: sorted(set(deps.urns)) for key, deps in sorted(request.propertyDependencies.items())
                if deps.urns
            },
            provider=request.provider.rsplit("::", 1)[0] if request.provider else None,
        )
        with self._lock:
            self.records.append(record)
        return response
