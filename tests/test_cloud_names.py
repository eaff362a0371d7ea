"""Regions and SageMaker instance types are checked against the clouds' own lists, with "did you mean"."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlops.cli import app
from mlops.clouds import aws_names
from mlops.clouds.names import REGIONS, suggest
from mlops.plan.vocabulary import Cloud

ROOT = Path(__file__).resolve().parents[1]


def _variant(tmp_path: Path, example: str, old: str, new: str) -> Path:
    text = (ROOT / "blueprints" / f"{example}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{example}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("example", "old", "new", "where", "hint"), [
    ("fraud-detection-aws", "region: us-east-1", "region: eu-west-9", "cloud.region", "did you mean eu-west-3"),
    ("fraud-detection-aws", "      instance: large\n", "      instance: ml.m5.3xlarge\n",
     "models[0].training.instance", "did you mean ml.m5.xlarge"),
    ("product-recommendations-gcp", "region: us-central1", "region: us-central9", "cloud.region",
     "did you mean us-central1"),
    ("demand-forecasting-azure", "region: westeurope", "region: westeurop", "cloud.region",
     "did you mean westeurope"),
])
def test_a_name_the_cloud_does_not_have_is_a_located_error(tmp_path: Path, example: str, old: str, new: str,
                                                            where: str, hint: str) -> None:
    result = CliRunner().invoke(app, ["validate", str(_variant(tmp_path, example, old, new))], terminal_width=400)
    assert result.exit_code == 2, result.output
    line = next(line for line in result.output.splitlines() if f": {where}: not " in line)
    assert line.split(":")[1].isdigit() and hint in line, line


@pytest.mark.parametrize("cloud", list(Cloud))
def test_every_example_and_matrix_region_is_in_its_table(cloud: Cloud) -> None:
    assert {Cloud.aws: "us-east-1", Cloud.gcp: "europe-west4", Cloud.azure: "westeurope"}[cloud] in REGIONS[cloud]


def test_suggestions_name_the_closest_names_or_examples() -> None:
    assert "us-east-1" in suggest("us-est-1", aws_names.REGIONS)
    assert suggest("zzzzzz", frozenset({"a-1", "b-2"})) == "e.g. a-1, b-2 …"


def test_the_aws_tables_are_botocores() -> None:
    botocore = pytest.importorskip("botocore", reason="botocore (a dev dependency) is not installed")
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_aws_names", ROOT / "tests/reference/generate_aws_names.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    if botocore.__version__ != aws_names.BOTOCORE_VERSION:
        pytest.skip(f"tables from botocore {aws_names.BOTOCORE_VERSION}, installed {botocore.__version__}: "
                    "regenerate with tests/reference/generate_aws_names.py")
    assert (ROOT / "mlops/clouds/aws_names.py").read_text(encoding="utf-8") == generator.render()
