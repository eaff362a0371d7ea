"""Register step of the Vertex training pipeline: upload the candidate as a new model version.

Runs inside the Google Cloud Pipeline Components image (it ships google-cloud-aiplatform) as
`python3 -c <this file> ...`; the pipeline spec embeds it. The first run creates the model under its
fixed id; later runs add versions to it. Every version registers with the `challenger` alias and is not
the default version: only the promotion workflow (approvers) moves `champion`. Where governance
requires a model card, the card is written next to the model artifacts and referenced by a label and
the version description (Vertex AI has no model card resource).

Blueprint text (the model card, gate labels) arrives base64url-encoded JSON (components/payload.py):
KFP resolves `{{$.…}}` placeholders anywhere in the arguments, so it never travels as written.
"""

import argparse
import base64
import json
import pathlib
from typing import Any

# Installed in the Google Cloud Pipeline Components image the step runs in, not in this project.
from google.api_core import exceptions  # type: ignore[import-not-found]
from google.cloud import aiplatform  # type: ignore[attr-defined]


def decode(text: str) -> Any:
    """The inverse of components/payload.py `encode` (base64url → UTF-8 → JSON)."""
    return json.loads(base64.urlsafe_b64decode(text.encode("ascii")).decode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("project", "location", "model-id", "display-name", "artifact-uri", "serving-image", "kms-key",
                 "labels", "alias", "description", "version-output"):
        parser.add_argument(f"--{flag}", required=True)
    parser.add_argument("--model-card", default="")
    # --metric <encoded gate label> <value>: one per gate.
    parser.add_argument("--metric", action="append", nargs=2, default=[], metavar=("LABEL", "VALUE"))
    args = parser.parse_args()
    aiplatform.init(project=args.project, location=args.location, encryption_spec_key_name=args.kms_key)
    labels = json.loads(args.labels)
    metrics = {decode(label): value for label, value in args.metric}
    description = args.description
    if args.model_card:
        card = {**decode(args.model_card), "evaluation": metrics}
        local = pathlib.Path("/gcs") / args.artifact_uri.removeprefix("gs://") / "model_card.json"
        local.write_text(json.dumps(card, indent=2, sort_keys=True))
        labels["model-card"] = "attached"
        description = f"{description} Model card: {args.artifact_uri.rstrip('/')}/model_card.json"
    try:
        parent = aiplatform.Model(args.model_id).resource_name
    except exceptions.NotFound:
        parent = None
    model = aiplatform.Model.upload(
        display_name=args.display_name,
        artifact_uri=args.artifact_uri,
        serving_container_image_uri=args.serving_image,
        parent_model=parent,
        model_id=None if parent else args.model_id,
        is_default_version=parent is None,
        version_aliases=[args.alias],
        version_description=description,
        labels=labels,
        encryption_spec_key_name=args.kms_key,
    )
    if model is None or model.version_id is None:  # upload returns the model (typed Optional by the SDK)
        raise SystemExit(f"uploading {args.model_id} returned no model version")
    pathlib.Path(args.version_output).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.version_output).write_text(model.version_id)


if __name__ == "__main__":
    main()
