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


@pytest.fixture(autouse=True)
def hs_home(monkeypatch, tmp_path):
    """Gate runs add to Data Docs under $HS_HOME: keep each test's site in its own directory."""
    monkeypatch.setenv("HS_HOME", str(tmp_path / "hs-home"))
    return tmp_path / "hs-home"


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


@pytest.mark.spark
def test_the_signal_gate_runs_on_spark_as_on_pandas(spark):
    """The job gates its signals with GX's Spark engine (its pandas engine only for small inputs): the same suite
    must reach the same verdicts, failure for failure, on a Spark DataFrame."""
    from hiring_signals.contract.curated_schema import CURATED_SCHEMAS

    rows = signal_rows([("completion_rate", 1.0), ("completion_rate", 1.5), ("mean_rubric_score", 0.5),
                        ("signal_score", 55.0), ("engagements_started", 12.0)])
    rows.loc[3, "explanation"] = None
    frame = spark.createDataFrame(pa.Table.from_pandas(rows, schema=CURATED_SCHEMAS["candidate_signals"],
                                                       preserve_index=False))
    on_spark = validate("candidate_signals", frame, batch="t", engine="spark")
    on_pandas = validate("candidate_signals", rows, batch="t", engine="pandas")
    assert not on_spark.success and on_spark.evaluated == on_pandas.evaluated
    failed = sorted((f["type"], str(f["column"]), f["condition"] or "", f["unexpected_count"]) for f in on_spark.failures)
    assert failed == sorted((f["type"], str(f["column"]), f["condition"] or "", f["unexpected_count"])
                            for f in on_pandas.failures)
    assert len(failed) == 3, failed  # the two ranges and the unexplained composite
    assert validate("candidate_signals", frame.where("(signal = 'completion_rate' and value <= 1.0) or signal = 'engagements_started'"), batch="t",
                    engine="spark").success


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


# --- marts ----------------------------------------------------------------------------------------------------

def test_committed_mart_suites_match_the_dbt_yaml():
    from hiring_signals.quality.suites import MARTS_SUITE_PREFIX, marts_suites

    generated = marts_suites()
    committed = {p.stem for p in SUITES_DIR.glob(f"{MARTS_SUITE_PREFIX}*.json")}
    assert committed == set(generated), "run `hs quality write-suites`: a mart was added to or dropped from the dbt YAML"
    for name, suite in generated.items():
        assert (SUITES_DIR / f"{name}.json").read_text() == suite_json(suite), (
            f"expectations/suites/{name}.json drifted from dbt_project/models/marts: run `hs quality write-suites`")


def _kwargs_by_type(suite) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in json.loads(suite_json(suite))["expectations"]:
        out.setdefault(e["type"], []).append(e["kwargs"])
    return out


def test_mart_suite_is_derived_from_yaml_catalog_and_conventions():
    from hiring_signals.quality.suites import mart_suite

    models = {
        "dim_candidates": {"name": "dim_candidates", "columns": [{"name": "candidate_ref", "data_type": "text"}]},
        "dim_employers": {"name": "dim_employers", "columns": [{"name": "employer_ref", "data_type": "text"}]},
        "fct_x": {
            "name": "fct_x",
            "data_tests": ["at_least_one_row", {"unique_combination_of_columns": {"arguments": {
                "combination_of_columns": ["x_ref", "candidate_ref"]}}}],
            "columns": [
                {"name": "x_ref", "data_type": "text", "constraints": [{"type": "not_null"}], "data_tests": ["unique"]},
                {"name": "candidate_ref", "data_type": "text"},  # convention: must resolve in dim_candidates
                {"name": "employer_ref", "data_type": "text"},  # convention: must resolve in dim_employers
                {"name": "owner", "data_type": "text", "data_tests": [
                    {"relationships": {"arguments": {"to": "ref('dim_candidates')", "field": "candidate_ref"}}}]},
                {"name": "signal", "data_type": "text", "data_tests": [
                    {"relationships": {"arguments": {"to": "ref('signal_catalog')", "field": "signal"}}}]},  # a seed
                {"name": "reply_rate", "data_type": "double precision"},
                {"name": "mean_rubric_score", "data_type": "double precision"},
                {"name": "score_quality", "data_type": "integer"},
                {"name": "deliveries", "data_type": "bigint"},
                {"name": "signal_value", "data_type": "double precision"},
                {"name": "note", "data_type": "text"},
            ],
        },
    }
    kinds = _kwargs_by_type(mart_suite("fct_x", models["fct_x"], models))
    assert kinds["expect_table_row_count_to_be_between"] == [{"min_value": {"$PARAMETER": "min_rows"},
                                                              "max_value": {"$PARAMETER": "max_rows"}}]
    assert kinds["expect_column_values_to_not_be_null"] == [{"column": "x_ref"}]
    assert kinds["expect_column_values_to_be_unique"] == [{"column": "x_ref"}]
    assert kinds["expect_compound_columns_to_be_unique"] == [{"column_list": ["x_ref", "candidate_ref"]}]
    assert sorted((k["column"], k["value_set"]["$PARAMETER"]) for k in kinds["expect_column_values_to_be_in_set"]) == [
        ("candidate_ref", "values__dim_candidates__candidate_ref"),
        ("employer_ref", "values__dim_employers__employer_ref"),
        ("owner", "values__dim_candidates__candidate_ref"),
    ]
    plain_ranges = {k["column"]: (k.get("min_value"), k.get("max_value"))
                    for k in kinds["expect_column_values_to_be_between"] if "row_condition" not in k}
    assert plain_ranges == {"reply_rate": (0, 1), "mean_rubric_score": (1, 5), "score_quality": (1, 5),
                            "deliveries": (0, None)}
    per_signal = [k for k in kinds["expect_column_values_to_be_between"] if "row_condition" in k]
    assert {k["column"] for k in per_signal} == {"signal_value"} and len(per_signal) >= 4


def test_a_mart_suite_without_its_parameters_fails_rather_than_passes():
    import pandas as pd

    from hiring_signals.quality.suites import MARTS_SUITE_PREFIX

    name = sorted(p.stem for p in SUITES_DIR.glob(f"{MARTS_SUITE_PREFIX}*.json"))[0]
    with pytest.raises(Exception, match="min_rows|max_rows|parameter"):
        validate(name, pd.DataFrame({"x": [1]}), batch="t", engine="pandas")


def test_every_gate_run_lands_in_the_data_docs_site(hs_home):
    from hiring_signals.cli import main

    ok = validate("raw_events", raw_rows(), batch="marketplace/20260501T000000Z_20260502T000000Z", engine="pandas")
    df = raw_rows(2)
    df.loc[1, "event_id"] = "e0"
    bad = validate("raw_events", df, batch="gig/20260501T000000Z_20260502T000000Z", engine="pandas")
    assert ok.success and not bad.success
    index = hs_home / "data_docs" / "index.html"
    html = index.read_text()
    assert "raw_events" in html
    assert "marketplace__20260501T000000Z_20260502T000000Z" in html and "gig__20260501T000000Z_20260502T000000Z" in html
    pages = list((hs_home / "data_docs" / "validations" / "raw_events").rglob("*.html"))
    assert len(pages) == 2
    failed_page = next(p for p in pages if "gig__" in str(p)).read_text()
    assert "expect_compound_columns_to_be_unique" in failed_page or "compound" in failed_page.lower()
    assert main(["quality", "docs"]) == 0


def test_hs_quality_docs_says_when_there_is_no_site_yet(hs_home, capsys):
    from hiring_signals.cli import main

    assert main(["quality", "docs"]) == 1
    assert "no GX Data Docs yet" in capsys.readouterr().out


def test_deferred_data_docs_builds_the_site_once_at_the_end_even_after_an_error(hs_home):
    from hiring_signals.quality.gates import deferred_data_docs

    index = hs_home / "data_docs" / "index.html"
    with pytest.raises(RuntimeError, match="stop after two batches"):
        with deferred_data_docs():
            assert validate("raw_events", raw_rows(), batch="marketplace/20260501T000000Z_20260502T000000Z",
                            engine="pandas").success
            with deferred_data_docs():  # nested: the outer block publishes
                df = raw_rows(2)
                df.loc[1, "event_id"] = "e0"
                assert not validate("raw_events", df, batch="gig/20260501T000000Z_20260502T000000Z",
                                    engine="pandas").success
            assert not index.exists(), "the site is built at the end of the block, not per gate run"
            raise RuntimeError("stop after two batches")
    html = index.read_text()
    assert "marketplace__20260501T000000Z_20260502T000000Z" in html and "gig__20260501T000000Z_20260502T000000Z" in html
    assert len(list((hs_home / "data_docs" / "validations" / "raw_events").rglob("*.html"))) == 2
