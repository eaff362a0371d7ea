"""Typed Vertex AI REST bodies the training pipeline sends (no pulumi import).

Vertex custom and hyperparameter-tuning jobs are started by Google Cloud Pipeline Components'
launchers from a JSON payload (the REST resource, camelCase wire names). These TypedDicts mirror the
`v1` REST reference of the fields used, so a typo is a type error rather than a field Vertex ignores.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class MachineSpec(TypedDict):
    machineType: str
    acceleratorType: NotRequired[str]
    acceleratorCount: NotRequired[int]


class DiskSpec(TypedDict):
    bootDiskType: str
    bootDiskSizeGb: int


class ContainerSpec(TypedDict):
    imageUri: str
    command: list[str]
    args: list[str]
    env: NotRequired[list[EnvVar]]


class EnvVar(TypedDict):
    name: str
    value: str


class WorkerPoolSpec(TypedDict):
    machineSpec: MachineSpec
    replicaCount: str
    """int64 as a string: proto JSON accepts it, and it may be a pipeline placeholder."""
    diskSpec: DiskSpec
    containerSpec: ContainerSpec


class Scheduling(TypedDict):
    timeout: str
    strategy: Literal["STANDARD", "SPOT"]
    restartJobOnWorkerRestart: NotRequired[bool]
    maxWaitDuration: NotRequired[str]


class GcsDestination(TypedDict):
    outputUriPrefix: str


class CustomJobSpec(TypedDict):
    workerPoolSpecs: list[WorkerPoolSpec]
    scheduling: Scheduling
    serviceAccount: str
    baseOutputDirectory: GcsDestination
    network: NotRequired[str]
    experiment: NotRequired[str]
    """projects/<p>/locations/<r>/metadataStores/default/contexts/<experiment> (must exist)."""
    tensorboard: NotRequired[str]
    """projects/<p>/locations/<r>/tensorboards/<id>; not with `experiment` (its backing TensorBoard is used)."""


class EncryptionSpec(TypedDict):
    kmsKeyName: str


class CustomJob(TypedDict):
    displayName: str
    jobSpec: CustomJobSpec
    encryptionSpec: EncryptionSpec
    labels: dict[str, str]


class DoubleValueSpec(TypedDict):
    minValue: float
    maxValue: float


class IntegerValueSpec(TypedDict):
    minValue: str
    maxValue: str


class DiscreteValueSpec(TypedDict):
    values: list[float]


ScaleType = Literal["UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE"]


class ParameterSpec(TypedDict):
    parameterId: str
    scaleType: NotRequired[ScaleType]
    doubleValueSpec: NotRequired[DoubleValueSpec]
    integerValueSpec: NotRequired[IntegerValueSpec]
    discreteValueSpec: NotRequired[DiscreteValueSpec]


class MetricSpec(TypedDict):
    metricId: str
    goal: Literal["MAXIMIZE", "MINIMIZE"]


Algorithm = Literal["ALGORITHM_UNSPECIFIED", "GRID_SEARCH", "RANDOM_SEARCH"]


class StudySpec(TypedDict):
    metrics: list[MetricSpec]
    parameters: list[ParameterSpec]
    algorithm: Algorithm
    measurementSelectionType: Literal["BEST_MEASUREMENT", "LAST_MEASUREMENT"]


class HyperparameterTuningJob(TypedDict):
    displayName: str
    studySpec: StudySpec
    maxTrialCount: int
    parallelTrialCount: int
    maxFailedTrialCount: int
    trialJobSpec: CustomJobSpec
    encryptionSpec: EncryptionSpec
    labels: dict[str, str]
