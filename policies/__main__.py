"""Policy pack entry point for the Pulumi CLI. Only here is a PolicyPack constructed (it starts a server).

The CLI runs this folder as a program, so the folder (and the `mlops_policies` package in it) is on the
import path: the pack needs nothing outside it but its requirements.txt.
"""

from mlops_policies import ALL_POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name="mlops-blueprints", policies=list(ALL_POLICIES))
