"""Offline feature tables on BigQuery: typed column schemas and the feature-view sync schedule (pure, no pulumi).

A feature table holds one row per entity and event time: the entity's id column, `feature_timestamp`
(when the values were true: what point-in-time joins and the online store's sync key on) and one typed
column per feature. Vertex AI Feature Store (the feature online store) reads exactly this shape from
BigQuery: entity id columns plus a `feature_timestamp` TIMESTAMP column.
"""

from __future__ import annotations

import json
from typing import Literal, TypedDict

from mlops.plan.vocabulary import Entity

FEATURE_TIMESTAMP = "feature_timestamp"
"""Vertex AI Feature Store's fixed name for the event-time column of a BigQuery feature source."""

BigQueryType = Literal["INT64", "FLOAT64", "STRING", "BOOL", "TIMESTAMP"]
Mode = Literal["REQUIRED", "NULLABLE", "REPEATED"]

# Blueprint feature type -> BigQuery column type and mode. An embedding is ARRAY<FLOAT64> (BigQuery's
# REPEATED FLOAT64 column): what Vertex AI Feature Store serves as a vector feature.
COLUMN_TYPES: dict[str, tuple[BigQueryType, Mode]] = {
    "int": ("INT64", "NULLABLE"),
    "float": ("FLOAT64", "NULLABLE"),
    "string": ("STRING", "NULLABLE"),
    "bool": ("BOOL", "NULLABLE"),
    "timestamp": ("TIMESTAMP", "NULLABLE"),
    "embedding": ("FLOAT64", "REPEATED"),
}


class TableField(TypedDict):
    """One column of a BigQuery table schema (REST `TableFieldSchema`: name, type, mode, description)."""

    name: str
    type: BigQueryType
    mode: Mode
    description: str


def table_fields(entity: Entity) -> list[TableField]:
    """The entity's columns: id (STRING unless declared as a feature), feature_timestamp, then each feature once."""
    declared = {f.name: f.type for f in entity.features}
    id_type, _ = COLUMN_TYPES[declared.get(entity.id_column, "string")]
    fields: list[TableField] = [
        TableField(name=entity.id_column, type=id_type, mode="REQUIRED",
                   description=f"Identifies the {entity.name} (entity id)"),
        TableField(name=FEATURE_TIMESTAMP, type="TIMESTAMP", mode="REQUIRED",
                   description="When the feature values were observed (point-in-time joins, online sync)"),
    ]
    for feature in entity.features:
        if feature.name in (entity.id_column, FEATURE_TIMESTAMP):
            continue
        column_type, mode = COLUMN_TYPES[feature.type]
        fields.append(TableField(name=feature.name, type=column_type, mode=mode,
                                 description=f"{feature.type} feature of {entity.name}"))
    return fields


def table_schema(entity: Entity) -> str:
    """The BigQuery schema JSON of the entity's table (the `schema` input of bigquery.Table)."""
    return json.dumps(table_fields(entity), separators=(",", ":"))


def _largest_divisor(of: int, at_most: int) -> int:
    return max(d for d in range(1, of + 1) if of % d == 0 and d <= max(at_most, 1))


def sync_cron(freshness_sla_minutes: int | None) -> str:
    """How often feature views copy the newest rows to the online store (UTC cron).

    Twice per freshness window, so that a row written in time is online well within the SLA (at most every
    5 minutes, the shortest useful interval for a batch sync); hourly-scale intervals divide the day
    evenly. Without an SLA: daily.
    """
    if freshness_sla_minutes is None:
        return "TZ=UTC 0 0 * * *"
    every = max(5, freshness_sla_minutes // 2)
    if every < 60:
        return f"TZ=UTC */{_largest_divisor(60, every)} * * * *"
    hours = every // 60
    if hours < 24:
        return f"TZ=UTC 0 */{_largest_divisor(24, hours)} * * *"
    return "TZ=UTC 0 0 * * *"
