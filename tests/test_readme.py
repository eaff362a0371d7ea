"""The README stays true: its gating table is the gating table, its commands are the real ones."""

from __future__ import annotations

from pathlib import Path

from mlops.plan import GATES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_gating_table_matches_the_code() -> None:
    for gate in GATES:
        needs = f"{gate.dimension.value} ≥ {gate.level}" if gate.dimension else "always"
        row = f"| `{gate.capability.value}` | {needs} | {gate.summary} |"
        assert row in README, f"README gating table is out of date for {gate.capability.value}: {row}"


def test_quick_start_commands_are_the_ci_commands() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "python3 dev.py test" in README and "python3 dev.py test" in ci
    assert "python3 dev.py synth" in README


def test_policy_counts_in_the_readme_are_the_real_ones() -> None:
    from mlops.policies import ALL_POLICIES

    def count(prefix: str) -> int:
        return sum(p.name.startswith(prefix) for p in ALL_POLICIES)

    assert f"({len(ALL_POLICIES)} today: {count('aws-')} for AWS" in README.replace("\n", " ")
    assert f"{count('gcp-')} for GCP" in README and f"{count('azure-')} for Azure" in README.replace("\n", " ")


def evidence_line(cloud: str) -> str:
    from mlops.evidence import builds
    from mlops.plan.model import Cloud

    names = sorted(c.value for c in builds(Cloud(cloud)))
    return f"- {cloud}: " + ", ".join(f"`{n}`" for n in names)


def test_the_capabilities_the_readme_says_each_cloud_builds_are_its_evidence_tables() -> None:
    for cloud in ("aws", "gcp", "azure"):
        assert f"<!-- evidence:{cloud} -->\n{evidence_line(cloud)}\n" in README, (
            f"README evidence list for {cloud} is out of date: {evidence_line(cloud)}")
