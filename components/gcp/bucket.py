"""A private, versioned, CMEK-encrypted Cloud Storage bucket (optionally with a locked retention policy)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PURPOSE_TAG, TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability

SECONDS_PER_DAY = 86_400


@builds(Capability.foundation)
class GcpSecureBucket(pulumi.ComponentResource):
    """A Cloud Storage bucket that cannot be made public.

    Creates: `-bucket` (storage.Bucket) with uniform bucket-level access (no object ACLs), public
    access prevention enforced, object versioning, the platform key as default KMS key (CMEK),
    `force_destroy` only when `disposable` (dev buckets holding no audit records) and, when
    `retention_days` is set, a retention policy (locked when `lock`).
    Cloud Storage only accepts TLS, so unlike S3 there is no transport setting to make.

    Outputs: bucket (the bucket's name), url.
    """

    bucket: gcp.storage.Bucket

    def __init__(self, name: str, *, purpose: str, location: str, kms_key_id: pulumi.Input[str],
                 tags: dict[str, str], protect: bool, project: str | None = None, bucket_name: str | None = None,
                 retention_days: int | None = None, lock: bool = False, disposable: bool = False,
                 depends_on: Sequence[pulumi.Resource] = (),
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`depends_on`: resources the bucket itself waits for (the key grant to the storage service agent:
        a CMEK bucket cannot be created before the agent may use the key)."""
        super().__init__(f"{TYPE_PREFIX}GcpSecureBucket", name, None, opts)
        retention = gcp.storage.BucketRetentionPolicyArgs(
            retention_period=str(retention_days * SECONDS_PER_DAY), is_locked=lock,
        ) if retention_days is not None else None
        self.bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            gcp.storage.BucketArgs(
                name=bucket_name,
                project=project,
                location=location,
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                versioning=gcp.storage.BucketVersioningArgs(enabled=True),
                encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=kms_key_id),
                retention_policy=retention,
                # A disposable bucket's objects go with it on destroy (Cloud Storage refuses to
                # delete a bucket that holds objects otherwise).
                force_destroy=disposable,
                labels=gcp_labels({**tags, PURPOSE_TAG: purpose}),
            ),
            # Locking is irreversible and a locked bucket cannot be deleted while it holds objects
            # younger than the retention period: protect it in every environment, so that
            # `pulumi destroy` refuses up front instead of failing half-way.
            opts=child(self, stateful=True, protect=protect or lock, depends_on=list(depends_on)),
        )
        self.register_outputs({"bucket": self.bucket.name, "url": self.bucket.url})
