"""Scripts the AWS back end uploads for SageMaker jobs to run (e.g. the drift post-analytics processor)."""
