"""Feed records: built from a candidate_signal_feed row, valid against the versioned feed schema."""

from __future__ import annotations

from datetime import date

import fastjsonschema
import orjson

from hiring_signals.contract.curated_schema import SCORE_COMPONENTS, SIGNALS
from hiring_signals.feeds import feed_columns, feed_record, feed_schema


def mart_row(**overrides) -> dict:
    row = {"candidate_ref": "cand_" + "a" * 32, "as_of_date": date(2026, 5, 30), "feature_version": "signals-v2",
           "vocabulary_version": "skills-v1", "rubric_version": "hs-rubric-v1",
           "signal_score_reason": "Score 61.2 of 100 ...",
           "signal_score_explanation": orjson.dumps({c.name: {"points": 1.0} for c in SCORE_COMPONENTS}).decode()}
    for s in SIGNALS:
        row[s.name], row[f"{s.name}_evidence"] = (None, 0) if s.unit == "ratio" else (2.0, 2)
    row.update(overrides)
    assert set(row) == set(feed_columns())
    return row


def test_records_are_explained_and_valid():
    validate = fastjsonschema.compile(feed_schema())
    record = feed_record(mart_row())
    validate(record)
    assert set(record["signals"]) == {s.name for s in SIGNALS}
    score = record["signals"]["signal_score"]
    assert score["reason"].startswith("Score") and list(score["explanation"]) == [c.name for c in SCORE_COMPONENTS]
    assert record["signals"]["active_weeks_90d"]["window"] == "last_90_days"
    assert record["signals"]["completion_rate"] == {"value": None, "evidence_count": 0, "window": "all_history"}
    assert (record["vocabulary_version"], record["rubric_version"]) == ("skills-v1", "hs-rubric-v1")


def test_the_schema_change_is_additive():
    """A record as the first v1 revision wrote it (six signals, no optional fields) is still valid."""
    validate = fastjsonschema.compile(feed_schema())
    old = {"feed_version": "v1", "candidate_ref": "cand_" + "b" * 32, "as_of_date": "2026-05-30",
           "feature_version": "signals-v1",
           "signals": {name: {"value": 1.0, "evidence_count": 1, "window": "all_history"}
                       for name in ("engagements_started", "engagements_completed", "completion_rate",
                                    "on_time_delivery_rate", "mean_rubric_score", "active_verified_credentials")}}
    validate(old)
    record = feed_record(mart_row(vocabulary_version=None, signal_score_reason=None, signal_score_explanation=None))
    assert "vocabulary_version" not in record and "reason" not in record["signals"]["signal_score"]
    validate(record)
