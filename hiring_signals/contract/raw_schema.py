"""The raw-zone row: one declaration from which the Arrow schema (writers), the Spark read schema and the
GX raw-events suite are derived, so no stage restates the columns by hand."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # string | int | timestamp
    nullable: bool
    doc: str


RAW_EVENT_COLUMNS: tuple[Column, ...] = (
    Column("event_id", "string", False, "The source's event id; (source, event_id) is the idempotency key."),
    Column("source", "string", False, "The connector instance that delivered the event, e.g. 'marketplace'."),
    Column("source_tenant", "string", True, "Tenant within the source (program, agency)."),
    Column("event_type", "string", False, "Event type without version, e.g. 'engagement.completed'."),
    Column("event_version", "int", False, "Payload schema version of the event type."),
    Column("occurred_at", "timestamp", False, "When it happened (UTC)."),
    Column("source_updated_at", "timestamp", True, "When the source last changed the record (UTC)."),
    Column("ingested_at", "timestamp", False,
           "Knowledge time: the end of the ingestion data interval that first landed the event (UTC)."),
    Column("candidate_ref", "string", True, "Keyed-HMAC pseudonymous candidate reference."),
    Column("employer_ref", "string", True, "Employer reference, namespaced by source."),
    Column("engagement_ref", "string", True, "Engagement reference, namespaced by source."),
    Column("remote_id", "string", True, "The source's own id for the underlying record."),
    Column("payload", "string", False, "Type-specific body as canonical JSON (sorted keys), PII removed."),
    Column("source_extras", "string", True,
           "Fields the source sent that contract v1 does not know, as canonical JSON: kept for later, never used."),
    Column("batch_id", "string", False, "The ingestion batch (source and data interval) that committed the row."),
)

_ARROW = {"string": pa.string(), "int": pa.int32(), "timestamp": pa.timestamp("us", tz="UTC")}
_SPARK_DDL = {"string": "STRING", "int": "INT", "timestamp": "TIMESTAMP"}


def raw_event_arrow_schema() -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW[c.kind], nullable=c.nullable) for c in RAW_EVENT_COLUMNS])


def raw_event_spark_ddl() -> str:
    return ", ".join(
        f"{c.name} {_SPARK_DDL[c.kind]}{'' if c.nullable else ' NOT NULL'}" for c in RAW_EVENT_COLUMNS
    )


def raw_event_column_names() -> list[str]:
    return [c.name for c in RAW_EVENT_COLUMNS]
