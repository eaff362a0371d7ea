"""GCP foundation: the platform's key, storage, audit store and execution identity."""

from __future__ import annotations

import re

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels, short_hash
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .bucket import SECONDS_PER_DAY, GcpSecureBucket

KEY_USER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
OBJECT_ADMIN_ROLE = "roles/storage.objectAdmin"
BUCKET_NAME_MAX = 63
ACCOUNT_ID_MAX = 30


def fit_name(base: str, limit: int, *, allowed: str = "a-z0-9-") -> str:
    """`base` lower-cased with other characters as '-'; when too long, cut and suffixed by its short hash.

    Deterministic: the same base always gives the same name.
    """
    clean = re.sub(f"[^{allowed}]", "-", base.lower())
    if len(clean) <= limit:
        return clean
    suffix = short_hash(base)
    return f"{clean[:limit - len(suffix) - 1].rstrip('-_')}-{suffix}"


def execution_account_id(prefix: str) -> str:
    """The execution service account's id: 6-30 characters of [a-z0-9-], starting with a letter."""
    return fit_name(f"{prefix}-exec", ACCOUNT_ID_MAX)


@builds(Capability.foundation, Capability.audit_trail)
class GcpFoundation(pulumi.ComponentResource):
    """Keys, storage and identity every other GCP capability builds on.

    Creates: `-keyring` (Cloud KMS key ring in the plan's region) and `-key` (ENCRYPT_DECRYPT crypto
    key rotating every `key_rotation_days`); `-key-storage-agent` (lets the project's Cloud Storage
    service agent use the key, which CMEK buckets need before they can be created); `-data`,
    `-artifacts` and `-audit` (GcpSecureBucket: uniform access, public access prevention,
    versioned, CMEK; the audit bucket with a retention policy from governance, locked in
    compliance mode); `-execution` (service account, the platform's execution identity) with
    `-data-execution` and `-artifacts-execution` (object admin on those two buckets only, nothing
    on audit) and `-key-execution` (use of the key).

    Key ring and key are stateful (protected and retained in production); Cloud KMS never deletes
    either. Cloud Storage only accepts TLS, so there is no TLS-only setting to make.

    Outputs: key_id, data_bucket, artifact_bucket, audit_bucket, execution_identity.
    """

    key: gcp.kms.CryptoKey
    data: GcpSecureBucket
    artifacts: GcpSecureBucket
    audit: GcpSecureBucket
    execution_identity: gcp.serviceaccount.Account

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}GcpFoundation", name, None, opts)
        tags = dict(plan.tags)
        # Key ring and key are auto-named: Cloud KMS never deletes them, so a fixed name could
        # never be created again after a dev stack is destroyed.
        key_ring = gcp.kms.KeyRing(
            f"{name}-keyring",
            gcp.kms.KeyRingArgs(location=plan.region, project=plan.account),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        self.key = gcp.kms.CryptoKey(
            f"{name}-key",
            gcp.kms.CryptoKeyArgs(
                key_ring=key_ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=f"{plan.key_rotation_days * SECONDS_PER_DAY}s",
                labels=gcp_labels(tags),
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )

        # The Cloud Storage service agent encrypts and decrypts objects with the bucket's default key.
        storage_agent = gcp.storage.get_project_service_account_output(
            project=plan.account, opts=pulumi.InvokeOutputOptions(parent=self))
        storage_agent_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-key-storage-agent",
            gcp.kms.CryptoKeyIAMMemberArgs(
                crypto_key_id=self.key.id,
                role=KEY_USER_ROLE,
                member=storage_agent.apply(lambda agent: f"serviceAccount:{agent.email_address}"),
            ),
            opts=child(self),
        )

        def bucket_name(purpose: str) -> str | None:
            # Named after the project when it is known (bucket names are global); else Pulumi auto-names.
            return fit_name(f"{plan.account}-{plan.prefix}-{purpose}", BUCKET_NAME_MAX, allowed="a-z0-9_-") \
                if plan.account else None

        def secure_bucket(purpose: str, *, retention_days: int | None = None,
                          lock: bool = False) -> GcpSecureBucket:
            return GcpSecureBucket(
                f"{name}-{purpose}", purpose=purpose, location=plan.region, kms_key_id=self.key.id, tags=tags,
                protect=plan.protect, project=plan.account, bucket_name=bucket_name(purpose),
                disposable=plan.environment == "dev" and purpose != "audit",
                retention_days=retention_days,
                lock=lock, depends_on=[storage_agent_grant], opts=child(self),
            )

        self.data = secure_bucket("data")
        self.artifacts = secure_bucket("artifacts")
        self.audit = secure_bucket("audit", retention_days=plan.governance.audit_retention_days,
                                   lock=plan.governance.audit_lock_mode == "compliance")

        self.execution_identity = gcp.serviceaccount.Account(
            f"{name}-execution",
            gcp.serviceaccount.AccountArgs(
                account_id=execution_account_id(plan.prefix),
                display_name=f"{plan.prefix} execution",
                description=f"{plan.prefix}: Vertex AI jobs, pipelines and endpoints",
                project=plan.account,
            ),
            opts=child(self),
        )
        member = self.execution_identity.member
        for purpose, store in (("data", self.data), ("artifacts", self.artifacts)):
            gcp.storage.BucketIAMMember(
                f"{name}-{purpose}-execution",
                gcp.storage.BucketIAMMemberArgs(bucket=store.bucket.name, role=OBJECT_ADMIN_ROLE,
                                                member=member),
                opts=child(self),
            )
        gcp.kms.CryptoKeyIAMMember(
            f"{name}-key-execution",
            gcp.kms.CryptoKeyIAMMemberArgs(crypto_key_id=self.key.id, role=KEY_USER_ROLE, member=member),
            opts=child(self),
        )
        self.register_outputs({
            "key_id": self.key.id,
            "data_bucket": self.data.bucket.name,
            "artifact_bucket": self.artifacts.bucket.name,
            "audit_bucket": self.audit.bucket.name,
            "execution_identity": self.execution_identity.email,
        })
