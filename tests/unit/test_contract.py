from datetime import datetime, timezone

import orjson
import pyarrow as pa
import pytest

from hiring_signals.contract import (
    Normaliser, Reason, Rejection, UnknownEventVersion, event_types, raw_event_arrow_schema, raw_event_spark_ddl,
)
from hiring_signals.identity import Pseudonymiser

INGESTED = datetime(2026, 5, 2, tzinfo=timezone.utc)


@pytest.fixture
def normaliser():
    return Normaliser("marketplace", "marketplace/b1", INGESTED, Pseudonymiser(b"k" * 32))


def feedback(**overrides):
    event = {
        "event_id": "evt_1", "event_type": "feedback.recorded.v1", "occurred_at": "2026-05-01T10:00:00+02:00",
        "source_updated_at": "2026-05-01T08:05:00Z", "candidate_email": " Jane@Example.ORG", "engagement_id": "eng_1",
        "employer_id": "emp_1", "remote_id": "evt_1", "source_tenant": "uni-north",
        "payload": {"rubric_id": "r1", "rubric_version": 2, "would_rehire": True, "comment": "free text stays out",
                    "scores": {"quality": 5, "communication": 4, "timeliness": 4, "skill_fit": 3}},
    }
    event.update(overrides)
    return event


def test_valid_event_becomes_a_raw_row(normaliser):
    row = normaliser.normalise(feedback())
    assert row["event_type"] == "feedback.recorded" and row["event_version"] == 1
    assert row["occurred_at"] == datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    assert row["ingested_at"] == INGESTED
    assert row["candidate_ref"] == Pseudonymiser(b"k" * 32).candidate_ref("jane@example.org")
    assert row["engagement_ref"] == "marketplace:eng_1" and row["employer_ref"] == "marketplace:emp_1"
    payload = orjson.loads(row["payload"])
    assert "comment" not in payload and payload["scores"]["quality"] == 5
    assert "jane" not in orjson.dumps(row, default=str).decode().lower()
    # the row fits the raw-zone schema exactly
    assert pa.Table.from_pylist([row], schema=raw_event_arrow_schema()).num_rows == 1


def test_payload_emails_are_pseudonymised(normaliser):
    row = normaliser.normalise({"event_id": "e", "event_type": "referral.made.v1", "occurred_at": "2026-05-01T00:00:00Z",
                                "candidate_email": "a@b.org", "payload": {"referred_email": "Friend@B.org"}})
    payload = orjson.loads(row["payload"])
    assert payload == {"referred_candidate_ref": Pseudonymiser(b"k" * 32).candidate_ref("friend@b.org")}


@pytest.mark.parametrize("change,reason", [
    ({"occurred_at": None}, Reason.WRONG_TYPE),
    ({"occurred_at": "2026-05-01T10:00:00"}, Reason.INVALID_TIMESTAMP),
    ({"occurred_at": "yesterday"}, Reason.INVALID_TIMESTAMP),
    ({"occurred_at": "2026-05-03T00:00:00Z"}, Reason.OCCURRED_AFTER_INGESTION),
    ({"occurred_at": "1999-12-31T00:00:00Z"}, Reason.INVALID_TIMESTAMP),
    ({"event_type": "engagement.teleported.v1"}, Reason.UNKNOWN_EVENT_TYPE),
    ({"event_type": "FEEDBACK"}, Reason.INVALID_VALUE),
    ({"candidate_email": None}, Reason.MISSING_REQUIRED_FIELD),
    ({"candidate_email": "not-an-email"}, Reason.INVALID_IDENTITY),
    ({"payload": {"rubric_id": "r"}}, Reason.MISSING_REQUIRED_FIELD),
    ({"payload": "{\"rubric_id\": \"r"}, Reason.WRONG_TYPE),
])
def test_bad_events_are_rejected_with_a_reason(normaliser, change, reason):
    result = normaliser.normalise(feedback(**change))
    assert isinstance(result, Rejection), result
    assert result.reason == reason, result.detail
    assert result.event_id == "evt_1"


def test_wrong_types_inside_the_payload(normaliser):
    event = feedback()
    event["payload"]["scores"]["quality"] = "5"
    result = normaliser.normalise(event)
    assert result.reason == Reason.WRONG_TYPE and "payload.scores.quality" in result.detail


def test_missing_envelope_field_and_non_objects(normaliser):
    event = feedback()
    del event["occurred_at"]
    assert normaliser.normalise(event).reason == Reason.MISSING_REQUIRED_FIELD
    assert normaliser.normalise("garbage").reason == Reason.MALFORMED_RECORD
    assert normaliser.normalise(["a"]).reason == Reason.MALFORMED_RECORD


def test_unknown_version_of_a_known_type_fails_loudly(normaliser):
    with pytest.raises(UnknownEventVersion, match=r"source 'marketplace' sent 'feedback.recorded' version 7"):
        normaliser.normalise(feedback(event_type="feedback.recorded.v7"))


def test_unknown_fields_are_tolerated_and_kept(normaliser):
    event = feedback()
    event["payload"]["new_field_from_source"] = {"nested": 1}
    assert orjson.loads(normaliser.normalise(event)["payload"])["new_field_from_source"] == {"nested": 1}


def test_every_brief_event_type_has_a_schema():
    names = {name for name, _ in event_types()}
    expected = {
        "engagement.posted", "application.submitted", "application.decided", "engagement.started",
        "engagement.completed", "engagement.cancelled", "deliverable.submitted", "deliverable.reviewed",
        "feedback.recorded", "outcome.measured", "credential.issued", "credential.status_changed", "payment.settled",
        "referral.made", "offer.extended", "offer.accepted", "placement.submitted", "placement.interviewed",
        "placement.offered", "placement.started", "placement.fell_off", "candidate.profile_updated",
        "candidate.erasure_requested",
    }
    assert names == expected


def test_spark_ddl_follows_the_arrow_schema():
    ddl = raw_event_spark_ddl()
    for field in raw_event_arrow_schema():
        assert field.name in ddl
    assert "occurred_at TIMESTAMP NOT NULL" in ddl and "candidate_ref STRING," in ddl
