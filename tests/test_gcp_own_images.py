"""GCP: models without Google's prebuilt images (lightgbm, custom) run the team's images at the tag of the stack
setting `mlops:imageTags` (components.image_tags, shared with AWS and Azure), never `:latest`, in the whole graph."""

from __future__ import annotations

import copy
import json
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from vertex_requests import graph_problems, image_problems, latest_references, spec_images

from mlops.synth import SynthError, SynthResult, synth

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "blueprints" / "product-recommendations-gcp.yaml"
SCHEDULE = "gcp:colab/schedule:Schedule"


def _blueprint() -> str:
    """The example with its ranker on LightGBM (retrained weekly: the schedule carries its spec in the clear) and
    a second, custom-framework model trained by hand only (its spec is only in the stored, secret object)."""
    data = yaml.safe_load(EXAMPLE.read_text())
    ranker = data["models"][0]
    ranker["framework"] = "lightgbm"
    scorer = copy.deepcopy(ranker)
    scorer.update(name="scorer", framework="custom", retraining={})
    del scorer["training"]["hyperparameter_search"], scorer["serving"], scorer["monitoring"]
    data["models"].append(scorer)
    path = Path(tempfile.mkdtemp()) / "own-images-gcp.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


@cache
def _synth(tags: str | None = None) -> SynthResult:
    return synth(_blueprint(), "dev", config={"mlops:imageTags": tags} if tags else None)


def _scheduled_spec(result: SynthResult) -> dict[str, Any]:
    [schedule] = [r for r in result.resources if r.type == SCHEDULE]
    return json.loads(schedule.inputs["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"])


def test_the_teams_images_run_at_the_default_tag() -> None:
    result = _synth()
    registry = result.outputs["container_registry"]
    images = set(spec_images(_scheduled_spec(result)))
    own = {i for i in images if i.startswith(registry)}
    assert own == {f"{registry}/recs-ranker-training:1", f"{registry}/recs-ranker-serving:1"}, images
    assert graph_problems(result) == []


def test_the_stack_setting_names_the_tag_of_each_model() -> None:
    # `pulumi config set --path 'mlops:imageTags.scorer' 7` stores the number 7: taken as the tag "7".
    result = _synth(json.dumps({"recs-ranker": "2024.06.1", "scorer": 7}))
    registry = result.outputs["container_registry"]
    own = {i for i in set(spec_images(_scheduled_spec(result))) if i.startswith(registry)}
    assert own == {f"{registry}/recs-ranker-training:2024.06.1", f"{registry}/recs-ranker-serving:2024.06.1"}
    # The scorer's spec is only in the (secret) stored object: graph_problems rebuilds it at the setting's tag.
    assert graph_problems(result) == []


@pytest.mark.parametrize(("tags", "message"), [
    ({"recs-ranker": "latest"}, "recs-ranker: 'latest' is not a pinned image tag"),
    ({"recs-ranker": ".hidden"}, "recs-ranker: '.hidden' is not a pinned image tag"),
    ({"ranker": "2"}, "'ranker' is not a model this stack trains on the team's own image (lightgbm, custom) "
                      "(those are: recs-ranker, scorer)"),
    (["recs-ranker"], "expected a map from model to image tag"),
])
def test_a_setting_that_cannot_be_honoured_is_an_error(tags: object, message: str) -> None:
    with pytest.raises(SynthError, match="mlops:imageTags: ") as error:
        _synth(json.dumps(tags))
    assert message in str(error.value)


def test_a_stack_of_prebuilt_images_only_takes_no_tag() -> None:
    with pytest.raises(SynthError, match=r"'recs-ranker' is not a model this stack trains on the team's own image "
                                         r"\(lightgbm, custom\) \(those are: none\)"):
        synth(str(EXAMPLE), "dev", config={"mlops:imageTags": json.dumps({"recs-ranker": "2"})})


def test_the_graph_checks_find_a_latest_tag_anywhere() -> None:
    result = _synth()
    assert latest_references(result.resources) == []
    graph = copy.deepcopy(result.resources)
    [schedule] = [r for r in graph if r.type == SCHEDULE]
    job = schedule.inputs["createPipelineJobRequest"]["pipelineJob"]
    registry = result.outputs["container_registry"]
    job["pipelineSpec"] = job["pipelineSpec"].replace(f"{registry}/recs-ranker-serving:1",
                                                      f"{registry}/recs-ranker-serving:latest")
    found = latest_references(graph)
    assert len(found) == 1 and schedule.name in found[0] and "recs-ranker-serving:latest" in found[0], found
    assert any("recs-ranker-serving:latest is not pinned" in p for p in image_problems(
        json.loads(job["pipelineSpec"]), "spec"))


def test_the_evidence_of_the_training_pipeline_needs_pinned_images_and_immutable_tags() -> None:
    from mlops.evidence import evidence
    from mlops.plan import Capability

    result = _synth()
    assert evidence(result.plan, result.resources)[Capability.training_pipeline].built
    mutable = copy.deepcopy(result.resources)
    [repository] = [r for r in mutable if r.name.endswith("-registries-containers")]
    repository.inputs["dockerConfig"] = {"immutableTags": False}
    assert not evidence(result.plan, mutable)[Capability.training_pipeline].built
    moving = copy.deepcopy(result.resources)
    [schedule] = [r for r in moving if r.type == SCHEDULE]
    job = schedule.inputs["createPipelineJobRequest"]["pipelineJob"]
    job["pipelineSpec"] = job["pipelineSpec"].replace("recs-ranker-training:1", "recs-ranker-training:latest")
    item = evidence(result.plan, moving)[Capability.training_pipeline]
    assert not item.built and any("latest" in m for m in item.missing), item.missing
