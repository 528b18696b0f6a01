"""Validate a source event against contract v1 and turn it into a raw-zone row.

Bad input never disappears: every record either becomes a row or a `Rejection` with a reason code that
lands in the quarantine zone. The only thing that stops a whole batch is a known event type arriving in a
version the contract does not know: that is a contract change on the source's side, and guessing would
publish wrong signals, so it fails loudly naming the source and version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import fastjsonschema
import orjson

from hiring_signals.contract.registry import envelope_fields, envelope_validator, event_types, known_type_names, known_versions
from hiring_signals.identity import InvalidEmail, Pseudonymiser


class Reason:
    """Quarantine reason codes (stable: dashboards and tests key on them)."""

    MALFORMED_RECORD = "malformed_record"  # not parseable / not a JSON object
    MISSING_REQUIRED_FIELD = "missing_required_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    INVALID_TIMESTAMP = "invalid_timestamp"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    INVALID_IDENTITY = "invalid_identity"
    OCCURRED_AFTER_INGESTION = "occurred_after_ingestion"
    # File drops (recruiter agencies): a row the agency's export cut off (the file ends mid-row), and a row
    # whose bytes are not valid in the agency's declared encoding.
    TRUNCATED_ROW = "truncated_row"
    INVALID_ENCODING = "invalid_encoding"

    ALL = (
        MALFORMED_RECORD, MISSING_REQUIRED_FIELD, WRONG_TYPE, INVALID_VALUE, INVALID_TIMESTAMP,
        UNKNOWN_EVENT_TYPE, INVALID_IDENTITY, OCCURRED_AFTER_INGESTION, TRUNCATED_ROW, INVALID_ENCODING,
    )


class UnknownEventVersion(RuntimeError):
    def __init__(self, source: str, event_type: str, version: int):
        self.source, self.event_type, self.version = source, event_type, version
        super().__init__(
            f"source {source!r} sent {event_type!r} version {version}, which contract v1 does not know "
            f"(known versions: {known_versions(event_type)}); add payloads/{event_type}.v{version}.json "
            "and its mapping before ingesting this source again"
        )


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str
    event_id: str | None


_RULE_TO_REASON = {
    "required": Reason.MISSING_REQUIRED_FIELD,
    "type": Reason.WRONG_TYPE,
    "format": Reason.INVALID_VALUE,
}

_REF_FIELD = {"candidate": "candidate_email", "employer": "employer_id", "engagement": "engagement_id"}
_EPOCH_FLOOR = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _schema_rejection(exc: fastjsonschema.JsonSchemaValueException, where: str, event_id: str | None) -> Rejection:
    reason = _RULE_TO_REASON.get(exc.rule, Reason.INVALID_VALUE)
    if exc.rule == "format" and (exc.rule_definition == "date-time"):
        reason = Reason.INVALID_TIMESTAMP
    message = exc.message.replace("data", where, 1) if exc.message.startswith("data") else exc.message
    return Rejection(reason, message, event_id)


def parse_timestamp(value: Any) -> datetime:
    """RFC 3339 with an explicit offset, returned in UTC. Naive timestamps are ambiguous and rejected."""
    if not isinstance(value, str):
        raise ValueError(f"expected an RFC 3339 string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a UTC offset: {value!r}")
    return parsed.astimezone(timezone.utc)


class Normaliser:
    """Normalises the events of one ingestion batch (one source, one data interval)."""

    def __init__(self, source: str, batch_id: str, ingested_at: datetime, pseudonymiser: Pseudonymiser):
        if ingested_at.tzinfo is None:
            raise ValueError("ingested_at must be timezone-aware")
        self.source = source
        self.batch_id = batch_id
        self.ingested_at = ingested_at.astimezone(timezone.utc)
        self._pseudonymiser = pseudonymiser
        self._validate_envelope = envelope_validator()
        self._types = event_types()
        self._type_names = known_type_names()
        self._envelope_fields = envelope_fields()

    def normalise(self, event: Any) -> dict | Rejection:
        if not isinstance(event, dict):
            return Rejection(Reason.MALFORMED_RECORD, f"expected a JSON object, got {type(event).__name__}", None)
        raw_id = event.get("event_id")
        event_id = raw_id if isinstance(raw_id, str) else None
        try:
            self._validate_envelope(event)
        except fastjsonschema.JsonSchemaValueException as exc:
            return _schema_rejection(exc, "event", event_id)

        name, _, version_tag = event["event_type"].rpartition(".v")
        version = int(version_tag)
        spec = self._types.get((name, version))
        if spec is None:
            if name in self._type_names:
                raise UnknownEventVersion(self.source, name, version)
            return Rejection(Reason.UNKNOWN_EVENT_TYPE, f"event_type {event['event_type']!r} is not in contract v1", event_id)

        payload = event["payload"]
        try:
            spec.validate(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            return _schema_rejection(exc, "payload", event_id)

        for ref in spec.requires:
            if not event.get(_REF_FIELD[ref]):
                return Rejection(Reason.MISSING_REQUIRED_FIELD, f"{_REF_FIELD[ref]} is required for {name}", event_id)

        try:
            occurred_at = parse_timestamp(event["occurred_at"])
            updated = event.get("source_updated_at")
            source_updated_at = parse_timestamp(updated) if updated is not None else None
        except ValueError as exc:
            return Rejection(Reason.INVALID_TIMESTAMP, str(exc), event_id)
        if occurred_at < _EPOCH_FLOOR:
            return Rejection(Reason.INVALID_TIMESTAMP, f"occurred_at {occurred_at.isoformat()} is before 2000", event_id)
        if occurred_at > self.ingested_at:
            return Rejection(
                Reason.OCCURRED_AFTER_INGESTION,
                f"occurred_at {occurred_at.isoformat()} is after the batch's knowledge time {self.ingested_at.isoformat()}",
                event_id,
            )

        try:
            email = event.get("candidate_email")
            candidate_ref = self._pseudonymiser.candidate_ref(email) if email else None
            clean_payload = self._clean_payload(payload, spec)
        except InvalidEmail as exc:
            return Rejection(Reason.INVALID_IDENTITY, str(exc), event_id)

        extras = {k: v for k, v in event.items() if k not in self._envelope_fields}
        if isinstance(extras.get("source_extras"), dict):
            extras.update(extras.pop("source_extras"))
        source_extras = (orjson.dumps(self._pseudonymiser.scrub(extras), option=orjson.OPT_SORT_KEYS).decode()
                         if extras else None)

        employer_id = event.get("employer_id")
        engagement_id = event.get("engagement_id")
        return {
            "event_id": event["event_id"],
            "source": self.source,
            "source_tenant": event.get("source_tenant"),
            "event_type": name,
            "event_version": version,
            "occurred_at": occurred_at,
            "source_updated_at": source_updated_at,
            "ingested_at": self.ingested_at,
            "candidate_ref": candidate_ref,
            "employer_ref": f"{self.source}:{employer_id}" if employer_id else None,
            "engagement_ref": f"{self.source}:{engagement_id}" if engagement_id else None,
            "remote_id": event.get("remote_id"),
            "payload": orjson.dumps(clean_payload, option=orjson.OPT_SORT_KEYS).decode(),
            "source_extras": source_extras,
            "batch_id": self.batch_id,
        }

    def _clean_payload(self, payload: dict, spec) -> dict:
        if not spec.drop_fields and not spec.pseudonymise_fields:
            return payload
        clean = {k: v for k, v in payload.items() if k not in spec.drop_fields}
        for field_name in spec.pseudonymise_fields:
            if field_name in clean:
                email = clean.pop(field_name)
                clean[field_name.removesuffix("_email") + "_candidate_ref"] = self._pseudonymiser.candidate_ref(email)
        return clean
