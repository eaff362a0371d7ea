"""What every component shares: child options, production protection, tag normalisers."""

from __future__ import annotations

import hashlib
import re

import pulumi

TYPE_PREFIX = "mlops:index:"
# Tag naming what a store is for; the policies find the audit store by it.
PURPOSE_TAG = "mlops-purpose"


def child(parent: pulumi.Resource, *, stateful: bool = False, protect: bool = False,
          depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
    """Options for a child: parented to its component; stateful children protected in production.

    The provider is inherited from the parent, so components never build providers themselves.
    """
    keep = stateful and protect
    return pulumi.ResourceOptions(parent=parent, protect=keep, retain_on_delete=keep or None,
                                  depends_on=depends_on)


def short_hash(*parts: str, length: int = 6) -> str:
    """A stable suffix for globally unique names (same inputs, same suffix; nothing random)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def gcp_labels(tags: dict[str, str]) -> dict[str, str]:
    """GCP labels: lower-case keys and values of [a-z0-9_-], keys start with a letter, 63 chars."""
    def clean(text: str) -> str:
        return re.sub(r"[^a-z0-9_-]", "_", text.lower())[:63]
    return {clean(k): clean(v) for k, v in tags.items()}


def azure_tags(tags: dict[str, str]) -> dict[str, str]:
    """Azure tag names may not contain < > % & \\ ? /; values up to 256 characters."""
    return {re.sub(r"[<>%&\\?/]", "-", k): v[:256] for k, v in tags.items()}
