"""The curated zone's datasets (Spark outputs, dbt sources) and the signal catalog, declared once.

Spark writes exactly these Arrow schemas, the warehouse loader creates landing tables from them, the dbt
sources document them, and the GX signals suite takes its ranges from SIGNALS.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

FEATURE_VERSION = "signals-v1"

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class SignalDef:
    name: str
    description: str
    unit: str  # count | ratio | score_1_5
    min_value: float
    max_value: float | None
    evidence: str  # what evidence_count counts


SIGNALS: tuple[SignalDef, ...] = (
    SignalDef("engagements_started", "Engagements the candidate started.", "count", 0, None, "engagement.started events"),
    SignalDef("engagements_completed", "Engagements the candidate completed.", "count", 0, None, "engagement.completed events"),
    SignalDef("completion_rate", "Completed / (completed + cancelled) over engagements that have ended.", "ratio", 0, 1,
              "ended engagements"),
    SignalDef("on_time_delivery_rate", "Share of deliverables first submitted by their due date.", "ratio", 0, 1,
              "submitted deliverables"),
    SignalDef("mean_rubric_score", "Mean over feedback events of the mean of the four rubric dimensions (1-5).",
              "score_1_5", 1, 5, "feedback.recorded events"),
    SignalDef("active_verified_credentials",
              "Credentials whose proof verified, inside their validity window and not revoked, suspended or expired as of the date.",
              "count", 0, None, "credentials issued"),
)

SIGNAL_NAMES = tuple(s.name for s in SIGNALS)


def _schema(*fields: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(n, t, nullable=nullable) for n, t, nullable in fields])


CURATED_SCHEMAS: dict[str, pa.Schema] = {
    # One row per candidate and signal, as of a date (long format: new signals need no schema change).
    "candidate_signals": _schema(
        ("as_of_date", pa.date32(), False),
        ("candidate_ref", pa.string(), False),
        ("signal", pa.string(), False),
        ("value", pa.float64(), True),  # null when there is no evidence to compute it from
        ("evidence_count", pa.int64(), False),
        ("window_days", pa.int32(), True),  # null: all history up to the as-of date
        ("feature_version", pa.string(), False),
    ),
    # One row per engagement and the candidate who started it, as of a date.
    "engagements": _schema(
        ("as_of_date", pa.date32(), False),
        ("engagement_ref", pa.string(), False),
        ("candidate_ref", pa.string(), False),
        ("employer_ref", pa.string(), True),
        ("source", pa.string(), False),
        ("title", pa.string(), True),
        ("category", pa.string(), True),
        ("posted_at", TS, True),
        ("started_at", TS, False),
        ("ended_at", TS, True),
        ("status", pa.string(), False),  # in_progress | completed | cancelled
        ("cancelled_by", pa.string(), True),
        ("deliverables_submitted", pa.int64(), False),
        ("deliverables_on_time", pa.int64(), False),
        ("feedback_count", pa.int64(), False),
        ("mean_rubric_score", pa.float64(), True),
    ),
    # One row per candidate seen in any source, as of a date.
    "candidates": _schema(
        ("as_of_date", pa.date32(), False),
        ("candidate_ref", pa.string(), False),
        ("first_event_at", TS, False),
        ("last_event_at", TS, False),
        ("event_count", pa.int64(), False),
        ("sources", pa.string(), False),  # comma-separated, sorted: portable across warehouses
    ),
}

CURATED_DATASETS = tuple(CURATED_SCHEMAS)
