"""GPU machine types of Vertex AI and the accelerators they come with, as a dated table (no pulumi import).

A Vertex `machineSpec` of an accelerator-optimized machine (A2, A3, A4, G2) must name the GPUs the
machine is built with (`acceleratorType`, `acceleratorCount`): a job or deployed model that names only
`a2-highgpu-2g` is refused by Vertex. The machine type fixes both, so they are derived here and never
asked of the blueprint. The table is Google's "GPU machine types" (cloud.google.com/compute/docs/gpus)
and Vertex's "Configure compute resources for training" (accelerator enum names of
google.cloud.aiplatform.v1.AcceleratorType), as of 2026-12. A machine of one of these families that is not
in the table is a located error (`GPU_FAMILIES`), never a machine without its GPUs.
"""

from __future__ import annotations

import re

GPU_MACHINES: dict[str, tuple[str, int]] = {
    # A2 Standard: NVIDIA A100 40GB
    **{f"a2-highgpu-{n}g": ("NVIDIA_TESLA_A100", n) for n in (1, 2, 4, 8)},
    "a2-megagpu-16g": ("NVIDIA_TESLA_A100", 16),
    # A2 Ultra: NVIDIA A100 80GB
    **{f"a2-ultragpu-{n}g": ("NVIDIA_A100_80GB", n) for n in (1, 2, 4, 8)},
    # A3: NVIDIA H100 80GB (High: 1-8 GPUs; Mega: H100 Mega), A3 Ultra: H200
    **{f"a3-highgpu-{n}g": ("NVIDIA_H100_80GB", n) for n in (1, 2, 4, 8)},
    "a3-megagpu-8g": ("NVIDIA_H100_MEGA_80GB", 8),
    "a3-ultragpu-8g": ("NVIDIA_H200_141GB", 8),
    # A4: NVIDIA B200
    "a4-highgpu-8g": ("NVIDIA_B200", 8),
    # G2: NVIDIA L4, the count fixed by the machine size
    "g2-standard-4": ("NVIDIA_L4", 1), "g2-standard-8": ("NVIDIA_L4", 1), "g2-standard-12": ("NVIDIA_L4", 1),
    "g2-standard-16": ("NVIDIA_L4", 1), "g2-standard-24": ("NVIDIA_L4", 2), "g2-standard-32": ("NVIDIA_L4", 1),
    "g2-standard-48": ("NVIDIA_L4", 4), "g2-standard-96": ("NVIDIA_L4", 8),
}
"""Machine type → (Vertex accelerator type, count)."""

GPU_FAMILIES = re.compile(r"^(a2|a3|a4|a4x|g2|g4)-")
"""Accelerator-optimized families: their GPUs are part of the machine."""


def gpu_of(machine_type: str) -> tuple[str, int] | None:
    """The accelerator a machine type comes with; None for machines without built-in GPUs."""
    return GPU_MACHINES.get(machine_type)


def unknown_gpu_machine(machine_type: str) -> bool:
    """A machine of a GPU family whose GPUs the table does not know: refused rather than deployed without them."""
    return bool(GPU_FAMILIES.match(machine_type)) and machine_type not in GPU_MACHINES
