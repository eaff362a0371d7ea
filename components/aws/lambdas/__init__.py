"""Lambda function sources shipped with the AWS back end (packaged by components.aws.function)."""
