"""Vertex AI machine shapes for the blueprint's cloud-neutral serving sizes (no pulumi import)."""

from __future__ import annotations

from dataclasses import dataclass

from mlops.clouds.gcp_machines import gpu_of
from mlops.plan.vocabulary import InstanceSize


@dataclass(frozen=True)
class Machine:
    """A Vertex `machineSpec`: machine type and, for GPU sizes, the accelerator."""

    machine_type: str
    accelerator: str | None = None
    accelerator_count: int = 0

    @property
    def gpu(self) -> bool:
        return self.accelerator is not None


SERVING_MACHINES: dict[InstanceSize, Machine] = {
    InstanceSize.small: Machine("n2-standard-2"),
    InstanceSize.medium: Machine("n2-standard-4"),
    InstanceSize.large: Machine("n2-standard-8"),
    InstanceSize.xlarge: Machine("n2-standard-16"),
    InstanceSize.gpu_small: Machine("n1-standard-8", "NVIDIA_TESLA_T4", 1),
    InstanceSize.gpu_large: Machine("a2-highgpu-1g", "NVIDIA_TESLA_A100", 1),
}


def serving_machine(instance: InstanceSize | str) -> Machine:
    """The machine of a size; any other string is taken as a Vertex machine type as written, with the GPUs
    an accelerator-optimized machine is built with (mlops/clouds/gcp_machines.py; the plan refuses a GPU
    family machine the table does not know)."""
    if isinstance(instance, InstanceSize):
        return SERVING_MACHINES[instance]
    try:
        return SERVING_MACHINES[InstanceSize(instance)]
    except ValueError:
        gpu = gpu_of(instance)
        return Machine(instance, *gpu) if gpu else Machine(instance)
