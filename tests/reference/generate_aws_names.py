"""Regenerate mlops/clouds/aws_names.py from the installed botocore (run by hand when botocore moves on):

    .venv/bin/python tests/reference/generate_aws_names.py
"""

from __future__ import annotations

from pathlib import Path

import botocore
import botocore.session

PARTITIONS = ("aws", "aws-us-gov", "aws-cn")
TARGET = Path(__file__).resolve().parents[2] / "mlops" / "clouds" / "aws_names.py"


def tables() -> dict[str, list[str]]:
    """The four tables, from botocore's SageMaker service model and endpoints data."""
    session = botocore.session.get_session()
    model = session.get_service_model("sagemaker")
    endpoints = session.get_data("endpoints")
    regions = {region for partition in endpoints["partitions"] if partition["partition"] in PARTITIONS
               for region in partition["services"].get("api.sagemaker", {}).get("endpoints", {})
               if "fips" not in region}
    return {
        "REGIONS": sorted(regions),
        "TRAINING_INSTANCE_TYPES": sorted(model.shape_for("TrainingInstanceType").enum),
        "ENDPOINT_INSTANCE_TYPES": sorted(model.shape_for("ProductionVariantInstanceType").enum),
        "TRANSFORM_INSTANCE_TYPES": sorted(model.shape_for("TransformInstanceType").enum),
    }


DOCS = {
    "REGIONS": "Regions with a SageMaker API endpoint.",
    "TRAINING_INSTANCE_TYPES": "CreateTrainingJob's ResourceConfig.InstanceType values.",
    "ENDPOINT_INSTANCE_TYPES": "CreateEndpointConfig's ProductionVariant.InstanceType values.",
    "TRANSFORM_INSTANCE_TYPES": "CreateTransformJob's TransformResources.InstanceType values.",
}


def _table(name: str, items: list[str]) -> str:
    lines, current = [f"{name}: frozenset[str] = frozenset({{"], "    "
    for item in items:
        piece = f'"{item}", '
        if len(current) + len(piece) > 118:
            lines.append(current.rstrip())
            current = "    "
        current += piece
    return "\n".join([*lines, current.rstrip(), "})", f'"""{DOCS[name]}"""'])


def render() -> str:
    body = "\n\n".join(_table(name, items) for name, items in tables().items())
    return f'''"""AWS names SageMaker accepts, as dated tables (no pulumi, no botocore at run time: fast validate).

Source: botocore {botocore.__version__}'s SageMaker service model (the `TrainingInstanceType`,
`ProductionVariantInstanceType` and `TransformInstanceType` enums) and its endpoints data (the regions where
`api.sagemaker` has an endpoint, in the aws, aws-us-gov and aws-cn partitions). tests/test_cloud_names.py
compares them with the installed botocore; regenerate with `tests/reference/generate_aws_names.py`.
"""

from __future__ import annotations

BOTOCORE_VERSION = "{botocore.__version__}"

{body}
'''


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
