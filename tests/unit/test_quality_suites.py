"""The committed GX suites are what the contract implies, and the gates catch what they should."""

import json
from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa
import pytest

from hiring_signals.contract import raw_event_arrow_schema
from hiring_signals.contract.curated_schema import FEATURE_VERSION, RUBRIC_VERSION
from hiring_signals.contract.vocabulary import VOCABULARY_VERSION
from hiring_signals.quality import GateFailed, enforce, validate
from hiring_signals.quality.suites import BUILDERS, SUITES_DIR, suite_json


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_committed_suite_files_match_the_contract(name):
    committed = (SUITES_DIR / f"{name}.json").read_text()
    assert committed == suite_json(BUILDERS[name]()), (
        f"expectations/suites/{name}.json drifted from the contract: run `hs quality write-suites` and review the diff")


def raw_rows(n=3, **overrides):
    ts = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    rows = []
    for i in range(n):
        row = {"event_id": f"e{i}", "source": "marketplace", "source_tenant": None, "event_type": "engagement.started",
               "event_version": 1, "occurred_at": ts, "source_updated_at": ts,
               "ingested_at": datetime(2026, 5, 2, tzinfo=timezone.utc), "candidate_ref": "cand_" + "a" * 32,
               "employer_ref": None, "engagement_ref": "marketplace:g1", "remote_id": f"e{i}", "payload": "{}",
               "batch_id": "marketplace/x"}
        row.update(overrides)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=raw_event_arrow_schema()).to_pandas()


def test_clean_raw_batch_passes():
    result = validate("raw_events", raw_rows(), batch="t", engine="pandas")
    assert result.success, result.summary()
    assert result.evaluated == len(json.loads((SUITES_DIR / "raw_events.json").read_text())["expectations"]) == 13


def test_empty_raw_batch_passes():
    assert validate("raw_events", raw_rows(0), batch="t", engine="pandas").success


def test_raw_gate_names_each_broken_expectation():
    df = raw_rows(4)
    df.loc[1, "event_id"] = "e0"  # duplicate key
    df.loc[2, "candidate_ref"] = "jane@example.org"  # PII leaking through
    df.loc[3, "occurred_at"] = pd.Timestamp("2026-06-01", tz="UTC")  # after ingestion
    result = validate("raw_events", df, batch="marketplace/x", engine="pandas")
    assert not result.success
    failed = {(f["type"], str(f["column"])) for f in result.failures}
    assert ("expect_compound_columns_to_be_unique", "['source', 'event_id']") in failed
    assert ("expect_column_values_to_match_regex", "candidate_ref") in failed
    assert ("expect_column_pair_values_a_to_be_greater_than_b", "['ingested_at', 'occurred_at']") in failed
    assert len(result.failures) == 3
    with pytest.raises(GateFailed, match=r"raw_events.*FAILED on marketplace/x: 3 of"):
        enforce(result)


def signal_rows(values):
    return pd.DataFrame([
        {"as_of_date": datetime(2026, 6, 1).date(), "candidate_ref": f"cand_{i:032x}", "signal": s, "value": v,
         "evidence_count": 1, "window_days": None, "feature_version": FEATURE_VERSION,
         "vocabulary_version": VOCABULARY_VERSION, "rubric_version": RUBRIC_VERSION, "reason": "because",
         "explanation": "{}" if s == "signal_score" else None}
        for i, (s, v) in enumerate(values)
    ])


def test_signal_ranges_come_from_the_catalog():
    ok = validate("candidate_signals", signal_rows([("completion_rate", 1.0), ("mean_rubric_score", 4.5),
                                                     ("engagements_started", 12.0), ("completion_rate", None)]),
                  batch="t", engine="pandas")
    assert ok.success, ok.summary()
    bad = validate("candidate_signals", signal_rows([("completion_rate", 1.5), ("mean_rubric_score", 0.5)]),
                   batch="t", engine="pandas")
    assert not bad.success
    conditions = sorted(f["condition"] for f in bad.failures)
    assert len(conditions) == 2 and "completion_rate" in conditions[0] and "mean_rubric_score" in conditions[1]


def test_signal_gate_checks_provenance_and_the_composite_explanation():
    rows = signal_rows([("signal_score", 55.0), ("signal_score", 120.0), ("active_weeks_90d", 14.0)])
    rows.loc[0, "explanation"] = None  # the composite must explain itself
    rows.loc[2, "vocabulary_version"] = "skills-v0"  # computed with another vocabulary than the one shipped
    result = validate("candidate_signals", rows, batch="t", engine="pandas")
    failed = {(f["type"], str(f["column"])) for f in result.failures}
    assert failed == {
        ("expect_column_values_to_not_be_null", "explanation"),
        ("expect_column_values_to_be_in_set", "vocabulary_version"),
        ("expect_column_values_to_be_between", "value"),
    }
    assert len(result.failures) == 4  # signal_score above 100 and active_weeks_90d above 13
