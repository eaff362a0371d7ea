"""Deploy the newest approved version of one model to its Azure ML endpoint (standard library only).

Runs as the model's scheduled deployer job, with the deployer identity (Azure Resource Manager calls:
the control plane, reachable from the workspace's managed network whatever the workspace's own
network settings). Approval is promotion into the registry (or, without a registry, registration in
the workspace), so "newest approved" is the newest version there. When it is newer than what the
champion serves:

- online endpoints with rollout steps (canary, rolling, blue/green): a `green` deployment like `blue` serving
  the new version; the traffic steps in order, each baked for its minutes, and with auto-rollback
  any fired alert on the endpoint puts all traffic back on `blue`, deletes `green` and fails the job;
  then the version moves into `blue`, the resting split returns and `green` is deleted.
- online endpoints without steps (all at once): `blue` is updated in place (Azure replaces its
  instances gradually).
- batch endpoints: the `champion` deployment is updated in place.

Without a champion deployment (a first deployment with the stack setting `mlops:endpoints: defer`:
IaC creates it once a version is approved and the setting is removed) there is nothing to roll
into: the job says so and succeeds.

Configuration (environment): MLOPS_CONFIG, JSON with subscription, workspace_id, source_id (the
registry's or workspace's ARM id), registry (its name, or ""), model, kind (online|batch), endpoint,
steps (list of {"traffic": {...}, "bake_minutes": n}), auto_rollback; MLOPS_CLIENT_ID (the identity).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

ARM = "https://management.azure.com"
IMDS = "http://169.254.169.254/metadata/identity/oauth2/token"
ML_API = "2024-10-01"
ALERTS_API = "2019-05-05-preview"
CHAMPION, CANDIDATE, BATCH_CHAMPION = "blue", "green", "champion"
DONE = ("Succeeded", "Failed", "Canceled")
WRITABLE = ("location", "tags", "identity", "kind", "sku", "properties")
READ_ONLY = ("provisioningState", "scoringUri", "swaggerUri")


class Client(Protocol):
    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]: ...


def arm_client(client_id: str) -> Client:
    """Azure Resource Manager calls with the managed identity's token."""
    query = urllib.parse.urlencode({"api-version": "2018-02-01", "resource": ARM + "/", "client_id": client_id})
    with urllib.request.urlopen(urllib.request.Request(f"{IMDS}?{query}", headers={"Metadata": "true"}),
                                timeout=30) as response:
        token = json.load(response)["access_token"]

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(ARM + path, method=method, data=json.dumps(body).encode() if body else None,
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            text = response.read()
        return json.loads(text) if text else {}
    return call


def writable(resource: dict[str, Any]) -> dict[str, Any]:
    """What a PUT takes back from a GET: no read-only fields."""
    body = {k: v for k, v in resource.items() if k in WRITABLE}
    body["properties"] = {k: v for k, v in (resource.get("properties") or {}).items() if k not in READ_ONLY}
    return body


def model_reference(config: dict[str, Any], version: str) -> str:
    if config["registry"]:
        return f"azureml://registries/{config['registry']}/models/{config['model']}/versions/{version}"
    return f"{config['workspace_id']}/models/{config['model']}/versions/{version}"


def served_version(deployment: dict[str, Any]) -> str:
    model = deployment["properties"]["model"]
    reference = model["assetId"] if isinstance(model, dict) else model
    return str(reference).rstrip("/").rsplit("/", 1)[-1]


class Deployer:
    """The rollout of one model, against an ARM client (a fake one in tests)."""

    def __init__(self, config: dict[str, Any], call: Client, sleep: Callable[[float], None] = time.sleep,
                 log: Callable[[str], None] = print) -> None:
        self.config, self.call, self.sleep, self.log = config, call, sleep, log
        kind = "onlineEndpoints" if config["kind"] == "online" else "batchEndpoints"
        self.endpoint = f"{config['workspace_id']}/{kind}/{config['endpoint']}"

    def _path(self, resource: str, query: str = "") -> str:
        return f"{resource}?api-version={ML_API}{query}"

    def deployment(self, name: str) -> str:
        return f"{self.endpoint}/deployments/{name}"

    def latest(self) -> str | None:
        found = self.call("GET", self._path(f"{self.config['source_id']}/models/{self.config['model']}/versions",
                                            "&$orderBy=createdtime%20desc&$top=1"))
        versions = found.get("value") or []
        return str(versions[0]["name"]) if versions else None

    def put_and_wait(self, resource: str, body: dict[str, Any]) -> None:
        self.call("PUT", self._path(resource), body)
        for _ in range(120):
            state = self.call("GET", self._path(resource)).get("properties", {}).get("provisioningState")
            if state in DONE:
                if state != "Succeeded":
                    raise RuntimeError(f"{resource}: provisioning {state}")
                return
            self.sleep(60)
        raise RuntimeError(f"{resource}: not provisioned within two hours")

    def with_model(self, deployment: dict[str, Any], version: str) -> dict[str, Any]:
        body = writable(deployment)
        reference = model_reference(self.config, version)
        model = body["properties"].get("model")
        body["properties"]["model"] = {**model, "assetId": reference} if isinstance(model, dict) else reference
        return body

    def set_traffic(self, traffic: dict[str, int]) -> None:
        body = writable(self.call("GET", self._path(self.endpoint)))
        body["properties"]["traffic"] = traffic
        self.put_and_wait(self.endpoint, body)

    def alerts_fired(self) -> bool:
        found = self.call("GET", f"{self.endpoint}/providers/Microsoft.AlertsManagement/alerts?api-version="
                                 f"{ALERTS_API}&monitorCondition=Fired&timeRange=1h")
        return bool(found.get("value"))

    def run(self) -> int:
        champion = CHAMPION if self.config["kind"] == "online" else BATCH_CHAMPION
        try:
            current = self.call("GET", self._path(self.deployment(champion)))
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
            self.log(f"{self.config['model']}: no {champion} deployment on {self.config['endpoint']} yet "
                     "(endpoints deferred): once a version is approved, `pulumi config rm mlops:endpoints` "
                     "and `pulumi up` create it")
            return 0
        latest = self.latest()
        if latest is None or latest == served_version(current):
            self.log(f"{self.config['model']}: serving the newest approved version ({latest})")
            return 0
        self.log(f"{self.config['model']}: rolling out version {latest} (serving {served_version(current)})")
        steps = [s for s in self.config["steps"] if CANDIDATE in s["traffic"]]
        if self.config["kind"] == "online" and steps:
            self.put_and_wait(self.deployment(CANDIDATE), self.with_model(current, latest))
            for step in steps:
                self.set_traffic(step["traffic"])
                self.sleep(60 * step["bake_minutes"])
                if self.config["auto_rollback"] and self.alerts_fired():
                    self.set_traffic({CHAMPION: 100})
                    self.call("DELETE", self._path(self.deployment(CANDIDATE)))
                    self.log(f"{self.config['model']}: alerts fired during the rollout; rolled back")
                    return 1
        self.put_and_wait(self.deployment(champion), self.with_model(current, latest))
        if self.config["kind"] == "online" and steps:
            self.set_traffic({CHAMPION: 100})
            self.call("DELETE", self._path(self.deployment(CANDIDATE)))
        self.log(f"{self.config['model']}: version {latest} serves")
        return 0


def main() -> int:
    config = json.loads(os.environ["MLOPS_CONFIG"])
    return Deployer(config, arm_client(os.environ["MLOPS_CLIENT_ID"])).run()


if __name__ == "__main__":
    sys.exit(main())
