"""Cloud-neutral instance sizes → Azure VM sizes: the one table (no pulumi import)."""

from __future__ import annotations

from mlops.plan.vocabulary import InstanceSize

AZURE_VM_SIZES: dict[InstanceSize, str] = {
    InstanceSize.small: "Standard_D2s_v3",             # 2 vCPU, 8 GiB
    InstanceSize.medium: "Standard_D4s_v3",            # 4 vCPU, 16 GiB
    InstanceSize.large: "Standard_D8s_v3",             # 8 vCPU, 32 GiB
    InstanceSize.xlarge: "Standard_D16s_v3",           # 16 vCPU, 64 GiB
    InstanceSize.gpu_small: "Standard_NC4as_T4_v3",    # 1 NVIDIA T4
    InstanceSize.gpu_large: "Standard_NC64as_T4_v3",   # 4 NVIDIA T4
}
"""Sizes Azure ML offers for compute clusters and managed endpoints in every region that has Azure ML."""

VM_SIZE_PREFIX = "Standard_"


def is_azure_vm_size(size: InstanceSize | str) -> bool:
    """A cloud-neutral size or an Azure VM size (`Standard_…`)."""
    return isinstance(size, InstanceSize) or size in InstanceSize.__members__ or size.startswith(VM_SIZE_PREFIX)


def vm_size(size: InstanceSize | str) -> str:
    """The Azure VM size of a size; an explicit `Standard_…` size (the blueprint's own) passes through unchanged."""
    if isinstance(size, InstanceSize):
        return AZURE_VM_SIZES[size]
    if size in InstanceSize.__members__:
        return AZURE_VM_SIZES[InstanceSize(size)]
    if not size.startswith(VM_SIZE_PREFIX):
        raise ValueError(f"not an Azure VM size: {size!r} (use a size such as "
                         f"{', '.join(s.value for s in InstanceSize)}, or a Standard_* size)")
    return size
