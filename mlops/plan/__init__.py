"""The plan layer: cloud-neutral, frozen description of what one environment builds (no pulumi here)."""

from .build import PlanError, plan, plan_environments, plan_loaded
from .gating import GATES, Capability, GateDecision
from .model import ModelPlan, Plan

__all__ = ["GATES", "Capability", "GateDecision", "ModelPlan", "Plan", "PlanError", "plan", "plan_environments",
           "plan_loaded"]
