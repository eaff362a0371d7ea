"""Policy pack entry point for the Pulumi CLI. Only here is a PolicyPack constructed (it starts a server)."""

import sys
from pathlib import Path

# The pack runs from policies/; the rules live in the project's mlops package one level up.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_policy import PolicyPack

from mlops.policies import ALL_POLICIES

PolicyPack(name="mlops-blueprints", policies=ALL_POLICIES)
