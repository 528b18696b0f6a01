"""Event contract v1: the envelope, the versioned payload schemas, and the one normaliser."""

from hiring_signals.contract.normalise import Normaliser, Reason, Rejection, UnknownEventVersion, parse_timestamp
from hiring_signals.contract.raw_schema import (
    RAW_EVENT_COLUMNS,
    raw_event_arrow_schema,
    raw_event_column_names,
    raw_event_spark_ddl,
)
from hiring_signals.contract.registry import ENVELOPE_VERSION, event_types, known_type_names

__all__ = [
    "ENVELOPE_VERSION", "Normaliser", "RAW_EVENT_COLUMNS", "Reason", "Rejection", "UnknownEventVersion",
    "event_types", "known_type_names", "parse_timestamp", "raw_event_arrow_schema", "raw_event_column_names",
    "raw_event_spark_ddl",
]
