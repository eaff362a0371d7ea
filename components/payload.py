"""Blueprint text as inert data inside commands and pipeline documents: base64url-encoded JSON.

Azure ML substitutes `${{inputs.X}}` verbatim into a command that a shell then runs, and KFP resolves
`{{$.…}}` placeholders anywhere in a container's arguments; neither has an escape. A value encoded here
is only letters, digits, `-`, `_` and `=` padding, which no shell, binding or placeholder syntax reads,
so the text (a metric name, a hyperparameter, the use case in a model card) reaches the script that
decodes it exactly as the blueprint wrote it. Decoding, in any language: base64url (RFC 4648 §5, with
padding) → UTF-8 → JSON.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

ALPHABET = re.compile(r"^[A-Za-z0-9_=-]*$")
"""Every character an encoded value can contain."""


def encode(value: Any) -> str:
    """`value` as compact JSON (sorted keys, UTF-8) in base64url with padding."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def decode(text: str) -> Any:
    """The inverse of `encode` (what the platform's step scripts do with their arguments)."""
    return json.loads(base64.urlsafe_b64decode(text.encode("ascii")).decode("utf-8"))
