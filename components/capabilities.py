"""Which capabilities each component builds: declared on its class, collected per cloud.

A back end's root component imports every component of its cloud, so importing it registers them all.
What a back end builds is the union of its components' declarations; tests/test_component_capabilities.py
holds it equal to the cloud's evidence table (mlops/evidence/<cloud>.py), which says how to see each one
in a synthesized graph. A component that only serves others (a secure bucket, a function) declares the
capability it is part of.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TypeVar

from mlops.plan import Capability
from mlops.plan.vocabulary import Cloud

T = TypeVar("T", bound=type)

_DECLARED: dict[str, tuple[Cloud, frozenset[Capability]]] = {}


def builds(*capabilities: Capability) -> Callable[[T], T]:
    """Class decorator: this component builds (part of) these capabilities."""
    def register(cls: T) -> T:
        cloud = Cloud(cls.__module__.split(".")[1])
        _DECLARED[f"{cls.__module__}.{cls.__qualname__}"] = (cloud, frozenset(capabilities))
        return cls
    return register


def declared(cloud: Cloud) -> dict[str, frozenset[Capability]]:
    """Every component of a cloud's back end and what it declares (imports the back end: pulumi)."""
    importlib.import_module(f"components.{cloud.value}.platform")
    return {name: caps for name, (c, caps) in sorted(_DECLARED.items()) if c == cloud}


def built_by(cloud: Cloud) -> frozenset[Capability]:
    """What a cloud's back end builds: the union of its components' declarations."""
    return frozenset().union(*declared(cloud).values())
