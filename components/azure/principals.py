"""Blueprint principals → Entra ID object ids and principal types (no pulumi import).

On Azure a blueprint principal is an Entra ID object id: bare (a group, the usual case for personas), or
`group:`, `user:` or `sp:` (service principal) followed by the id. The blueprint rule
`azure-role-principals` admits only these forms, so a display name never reaches a role assignment
(display names are not unique, and resolving them needs directory read rights the deployer may lack).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PrincipalType = Literal["Group", "User", "ServicePrincipal"]

_KINDS: dict[str, PrincipalType] = {"group": "Group", "user": "User", "sp": "ServicePrincipal"}


@dataclass(frozen=True)
class Principal:
    object_id: str
    type: PrincipalType


def principal(text: str) -> Principal:
    """The object id and type a blueprint principal names (a bare id is a group)."""
    kind, _, object_id = text.rpartition(":")
    if not kind:
        return Principal(text.lower(), "Group")
    if kind not in _KINDS:
        raise ValueError(f"not an Azure principal: {text!r} (use an object id, or group:/user:/sp:<object id>)")
    return Principal(object_id.lower(), _KINDS[kind])


def unique(principals: list[str] | tuple[str, ...]) -> list[Principal]:
    """Principals in order, each object id once."""
    seen: dict[str, Principal] = {}
    for text in principals:
        p = principal(text)
        seen.setdefault(p.object_id, p)
    return list(seen.values())
