"""Experiment step of the Vertex training pipeline: this run joins the model's Vertex AI experiment.

Runs inside the Google Cloud Pipeline Components image (it ships google-cloud-aiplatform) as
`python3 -c <this file> ...`; the pipeline spec embeds it. The Vertex REST PipelineJob has no experiment
field (the SDK's `PipelineJob.submit(experiment=...)` does these calls after submitting), and the runs
start from a schedule or a workflow, not the SDK: so the run itself

1. gets or creates the model's experiment (a `system.Experiment` context in the platform's CMEK
   metadata store `default`) and makes the platform's TensorBoard its backing TensorBoard, and
2. adds this pipeline run's context as a child of the experiment: the run, its parameters and
   metrics show in the experiment.

The training job then names the experiment (`CustomJobSpec.experiment`): its metrics and TensorBoard
logs go to that experiment and its backing TensorBoard. The pipelines service account does both with
roles/aiplatform.user (metadata contexts, TensorBoard experiments, runs and time series).
"""

import argparse
import time

# Installed in the Google Cloud Pipeline Components image the step runs in, not in this project.
from google.cloud import aiplatform  # type: ignore[attr-defined]

WAIT_SECONDS = 300
"""How long to wait for Vertex to create the run's metadata context (it does so asynchronously)."""


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("project", "location", "experiment", "tensorboard", "pipeline-job", "description"):
        parser.add_argument(f"--{flag}", required=True)
    args = parser.parse_args()
    aiplatform.init(project=args.project, location=args.location)
    experiment = aiplatform.Experiment.get_or_create(args.experiment, description=args.description)
    if experiment.backing_tensorboard_resource_name != args.tensorboard:
        experiment.assign_backing_tensorboard(args.tensorboard)
    job = aiplatform.PipelineJob.get(args.pipeline_job)
    deadline = time.monotonic() + WAIT_SECONDS
    while not job.gca_resource.job_detail.pipeline_run_context.name:
        if time.monotonic() > deadline:
            raise SystemExit(f"{args.pipeline_job} has no run context after {WAIT_SECONDS} s")
        time.sleep(5)
        job = aiplatform.PipelineJob.get(args.pipeline_job)
    run = aiplatform.Context(job.gca_resource.job_detail.pipeline_run_context.name)
    aiplatform.Context(experiment.resource_name).add_context_children([run])


if __name__ == "__main__":
    main()
