"""The design names each cloud's own audit-lock mechanism (issue 11): S3 Object Lock has GOVERNANCE and
COMPLIANCE modes; a Cloud Storage bucket retention policy is locked or unlocked (it has no modes); an
Azure Blob time-based immutability policy is Locked or Unlocked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops.blueprint.model import Cloud
from mlops.design import render_markdown
from mlops.design.clouds import AUDIT_LOCK
from mlops.design.run import design_input

EXAMPLES = {Cloud.aws: "blueprints/fraud-detection-aws.yaml", Cloud.gcp: "blueprints/product-recommendations-gcp.yaml",
            Cloud.azure: "blueprints/demand-forecasting-azure.yaml"}
# What each cloud's words must not say: the other clouds' mechanisms.
FOREIGN = {
    Cloud.aws: re.compile(r"retention policy|immutability policy", re.I),
    Cloud.gcp: re.compile(r"\bgovernance mode\b|\bcompliance mode\b|object lock|immutability policy", re.I),
    Cloud.azure: re.compile(r"\bgovernance mode\b|\bcompliance mode\b|object lock|bucket", re.I),
}
MECHANISM = {Cloud.aws: "S3 Object Lock in", Cloud.gcp: "bucket retention policy",
             Cloud.azure: "time-based immutability policy"}


def test_every_cloud_and_lock_mode_has_its_own_words() -> None:
    for cloud in Cloud:
        assert set(AUDIT_LOCK[cloud]) == {"compliance", "governance"}
        for mechanism, meaning in AUDIT_LOCK[cloud].values():
            assert MECHANISM[cloud] in mechanism and not FOREIGN[cloud].search(f"{mechanism} {meaning}"), cloud


@pytest.mark.parametrize("cloud", list(Cloud))
def test_the_audit_lock_wording_of_each_design_is_its_clouds(cloud: Cloud) -> None:
    path = Path(EXAMPLES[cloud])
    inp = design_input(path, "prod")
    text = render_markdown(inp, ("governance", "roadmap"))
    # Sections 5 and 6 speak of the audit lock (the governance table, the milestones): never in another cloud's words.
    assert not FOREIGN[cloud].search(text), FOREIGN[cloud].search(text)
    assert AUDIT_LOCK[cloud]["compliance"][0] in text  # prod locks, in this cloud's mechanism
