"""Cloud-neutral instance sizes → SageMaker `ml.*` instance types: the one table (no pulumi import)."""

from __future__ import annotations

from mlops.plan.vocabulary import InstanceSize

ML_INSTANCE_TYPES: dict[InstanceSize, str] = {
    InstanceSize.small: "ml.m5.large",        # 2 vCPU, 8 GiB
    InstanceSize.medium: "ml.m5.xlarge",      # 4 vCPU, 16 GiB
    InstanceSize.large: "ml.m5.2xlarge",      # 8 vCPU, 32 GiB
    InstanceSize.xlarge: "ml.m5.4xlarge",     # 16 vCPU, 64 GiB
    InstanceSize.gpu_small: "ml.g5.xlarge",   # 1 NVIDIA A10G
    InstanceSize.gpu_large: "ml.g5.12xlarge",  # 4 NVIDIA A10G
}
"""Available for training, processing and hosting in every commercial region that has SageMaker."""

# Families whose instances carry NVIDIA GPUs (framework images come in -gpu and -cpu variants).
_GPU_FAMILIES = ("ml.p", "ml.g")


def ml_instance_type(size: InstanceSize | str) -> str:
    """The `ml.*` type of a size; an explicit `ml.*` type (the blueprint's own) passes through unchanged."""
    if isinstance(size, InstanceSize):
        return ML_INSTANCE_TYPES[size]
    if size in InstanceSize.__members__:
        return ML_INSTANCE_TYPES[InstanceSize(size)]
    if not size.startswith("ml."):
        raise ValueError(f"not a SageMaker instance type: {size!r} (use a size such as "
                         f"{', '.join(s.value for s in InstanceSize)}, or an ml.* type)")
    return size


def is_gpu(instance_type: str) -> bool:
    return instance_type.startswith(_GPU_FAMILIES)


# vCPUs per size suffix of the EC2-based ml.* families (m5, c5, r5, g4dn, g5, p3 …): CloudWatch's
# endpoint CPUUtilization sums all cores (0-100 % per vCPU), so utilisation targets are scaled by it.
_VCPUS_BY_SIZE = {"medium": 2, "large": 2, "xlarge": 4}


def vcpus(instance_type: str) -> int:
    """vCPUs of an `ml.<family>.<size>` type (`Nxlarge` has 4·N)."""
    size = instance_type.rsplit(".", 1)[-1]
    if size in _VCPUS_BY_SIZE:
        return _VCPUS_BY_SIZE[size]
    if size.endswith("xlarge") and size[:-len("xlarge")].isdigit():
        return 4 * int(size[:-len("xlarge")])
    raise ValueError(f"cannot tell the vCPUs of {instance_type!r}")
