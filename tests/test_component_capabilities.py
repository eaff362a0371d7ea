"""What a back end builds is what its components declare, and each declaration has its evidence rule."""

from __future__ import annotations

import inspect

import pulumi
import pytest

from components.capabilities import built_by, declared
from mlops.evidence import builds
from mlops.plan.vocabulary import Cloud


@pytest.mark.parametrize("cloud", list(Cloud))
def test_the_components_declare_exactly_what_the_evidence_table_can_see(cloud: Cloud) -> None:
    # A capability declared without an evidence rule would be claimed unseen; a rule without a component
    # would look for what nothing builds.
    assert built_by(cloud) == builds(cloud)


@pytest.mark.parametrize("cloud", list(Cloud))
def test_every_component_of_a_back_end_declares_what_it_builds(cloud: Cloud) -> None:
    import importlib
    import pkgutil

    package = importlib.import_module(f"components.{cloud.value}")
    components = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"components.{cloud.value}.{info.name}")
        components |= {f"{c.__module__}.{c.__qualname__}" for _, c in inspect.getmembers(module, inspect.isclass)
                       if issubclass(c, pulumi.ComponentResource) and c.__module__ == module.__name__}
    assert components and components == set(declared(cloud))
