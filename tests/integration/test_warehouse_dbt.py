"""The warehouse end to end, on DuckDB and on PostgreSQL: load curated snapshots -> dbt build -> marts.

Hand-made curated tables (two as_of_dates, three candidates) are loaded with the real loader, `dbt build` runs
seeds, models, data tests and unit tests through the real runner, and the marts are checked value by value.
PostgreSQL runs in a unique schema per module (dropped at the end) of database HS_PG_DATABASE (created if
missing); an unreachable server fails the module's PostgreSQL tests (tests/warehouse_targets.py).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from datetime import date, datetime, timezone

import pyarrow as pa
import pytest
import yaml

from hiring_signals.config import REPO_ROOT, WarehouseSettings, load_settings
from hiring_signals.contract.curated_schema import (
    CURATED_SCHEMAS,
    FEATURE_VERSION,
    RUBRIC_VERSION,
    SCORE_COMPONENT_NAMES,
    SCORE_COMPONENTS,
    SIGNAL_NAMES,
    SIGNALS,
)
from hiring_signals.contract.vocabulary import VOCABULARY_VERSION
from hiring_signals.warehouse import (
    DbtBuildFailed,
    WarehouseLoadError,
    load_curated_snapshot,
    load_raw_batches,
    query,
    run_dbt,
)
from hiring_signals.warehouse.loader import content_sha256, query_dicts
from tests.warehouse_targets import WAREHOUSE_TARGETS, open_warehouse

DBT_DIR = REPO_ROOT / "dbt_project"
CURATED_MARTS = {"dim_candidates", "fct_engagements", "candidate_signal_feed", "fct_candidate_signals_daily",
                 "fct_signal_score_components"}
# built from the raw events of the snapshot's batches; the hand-made snapshots here have none
EVENT_MARTS = {"dim_employers", "fct_deliverables", "fct_feedback", "fct_credentials", "mart_source_funnel"}
D1, D2, D3 = date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------------------------------------------
# Hand-made curated snapshots
# --------------------------------------------------------------------------------------------------------------

CANDIDATES = {
    D1: [
        ("cand_a", "2026-04-01 09:00", "2026-04-30 10:00", 10, "marketplace"),
        ("cand_b", "2026-04-05 12:00", "2026-04-28 16:00", 4, "gig"),
    ],
    D2: [
        ("cand_a", "2026-04-01 09:00", "2026-05-02 08:00", 14, "gig,marketplace"),
        ("cand_b", "2026-04-05 12:00", "2026-05-01 11:00", 5, "gig"),
        ("cand_c", "2026-05-02 07:00", "2026-05-02 07:30", 2, "recruiter"),
    ],
}

# (engagement_ref, candidate_ref, source, started, ended, status, cancelled_by, submitted, on_time, feedback, rubric)
ENGAGEMENTS = {
    D1: [
        ("eng_1", "cand_a", "marketplace", "2026-04-01 00:00", None, "in_progress", None, 2, 2, 0, None),
        ("eng_2", "cand_b", "gig", "2026-04-10 00:00", None, "in_progress", None, 1, 0, 0, None),
    ],
    D2: [
        ("eng_1", "cand_a", "marketplace", "2026-04-01 00:00", "2026-04-25 00:00", "completed", None, 4, 3, 2, 4.5),
        ("eng_2", "cand_b", "gig", "2026-04-10 00:00", "2026-05-01 00:00", "cancelled", "employer", 1, 0, 0, None),
        ("eng_3", "cand_a", "gig", "2026-05-01 00:00", None, "in_progress", None, 0, 0, 0, None),
        ("eng_3", "cand_c", "recruiter", "2026-05-02 00:00", None, "in_progress", None, 0, 0, 0, None),
    ],
}

def score_explanation(normalised: dict[str, float], evidence: int = 1) -> tuple[float, int, str]:
    """(signal_score, evidence, explanation JSON) as the Spark job writes them, from each component's normalised
    value (binary-exact values keep the sums exact)."""
    parts = {c.name: {"signal": c.signal, "value": normalised[c.name], "evidence": evidence,
                      "normalised": normalised[c.name], "weight": float(c.weight),
                      "points": c.weight * normalised[c.name]} for c in SCORE_COMPONENTS}
    return sum(p["points"] for p in parts.values()), len(parts) if evidence else 0, json.dumps(parts)


SCORE_A1 = score_explanation(dict.fromkeys(SCORE_COMPONENT_NAMES, 0.5))
SCORE_A2 = score_explanation({"quality": 0.875, "delivery": 0.75, "completion": 0.625, "first_pass": 0.5, "rehire": 0.5,
                              "credentials": 0.75, "impact": 0.0, "activity": 0.25})
SCORE_B = score_explanation({**dict.fromkeys(SCORE_COMPONENT_NAMES, 0.5), "credentials": 0.0, "impact": 0.0,
                             "activity": 0.0}, evidence=0)

# {date: {candidate: {signal: (value, evidence)}}}; a signal missing from a candidate's dict has no row.
SIGNAL_VALUES = {
    D1: {
        "cand_a": {"engagements_started": (1, 1), "engagements_completed": (0, 0), "completion_rate": (None, 0),
                   "on_time_delivery_rate": (1.0, 2), "mean_rubric_score": (None, 0),
                   "active_verified_credentials": (1, 1), "signal_score": SCORE_A1},
        "cand_b": {"engagements_started": (1, 1), "engagements_completed": (0, 0), "completion_rate": (None, 0),
                   "on_time_delivery_rate": (0.0, 1), "mean_rubric_score": (None, 0),
                   "active_verified_credentials": (0, 0), "signal_score": SCORE_B},
    },
    D2: {
        "cand_a": {"engagements_started": (2, 2), "engagements_completed": (1, 1), "completion_rate": (1.0, 1),
                   "on_time_delivery_rate": (0.75, 4), "mean_rubric_score": (4.5, 2),
                   "active_verified_credentials": (2, 2), "signal_score": SCORE_A2},
        "cand_b": {"engagements_started": (1, 1), "engagements_completed": (0, 0), "completion_rate": (0.0, 1),
                   "on_time_delivery_rate": (0.0, 1), "mean_rubric_score": (None, 0),
                   "active_verified_credentials": (0, 0), "signal_score": SCORE_B},
        "cand_c": {"engagements_started": (1, 1), "engagements_completed": (0, 0), "completion_rate": (None, 0),
                   "on_time_delivery_rate": (None, 0), "active_verified_credentials": (0, 0)},  # no rubric row
    },
}


def candidates_table(d: date, rows=None) -> pa.Table:
    rows = CANDIDATES[d] if rows is None else rows
    return pa.Table.from_pylist(
        [{"as_of_date": d, "candidate_ref": c, "first_event_at": ts(f), "last_event_at": ts(la),
          "event_count": n, "sources": s} for c, f, la, n, s in rows],
        schema=CURATED_SCHEMAS["candidates"],
    )


def engagements_table(d: date, rows=None) -> pa.Table:
    rows = ENGAGEMENTS[d] if rows is None else rows
    return pa.Table.from_pylist(
        [{"as_of_date": d, "engagement_ref": e, "candidate_ref": c, "employer_ref": f"emp_{e}", "source": src,
          "title": f"Project {e}", "category": "data-analysis", "posted_at": ts(started) if e != "eng_1" else ts("2026-03-30 12:00"),
          "started_at": ts(started), "ended_at": ts(ended) if ended else None, "status": status,
          "cancelled_by": cby, "deliverables_submitted": sub, "deliverables_on_time": ot, "feedback_count": fb,
          "mean_rubric_score": rub, "skills": "python,sql" if e == "eng_1" else None}
         for e, c, src, started, ended, status, cby, sub, ot, fb, rub in rows],
        schema=CURATED_SCHEMAS["engagements"],
    )


def signals_table(d: date, values=None) -> pa.Table:
    values = SIGNAL_VALUES[d] if values is None else values
    rows = []
    for cand, sigs in values.items():
        for sig, (value, evidence, *explanation) in sigs.items():
            rows.append({"as_of_date": d, "candidate_ref": cand, "signal": sig,
                         "value": None if value is None else float(value), "evidence_count": evidence,
                         "window_days": 90 if sig == "on_time_delivery_rate" else None,
                         "feature_version": FEATURE_VERSION, "vocabulary_version": VOCABULARY_VERSION,
                         "rubric_version": RUBRIC_VERSION, "reason": f"{sig} is {value}",
                         "explanation": explanation[0] if explanation else None})
    return pa.Table.from_pylist(rows, schema=CURATED_SCHEMAS["candidate_signals"])


def load_day(settings: WarehouseSettings, d: date) -> None:
    load_curated_snapshot(settings, "candidates", d, candidates_table(d))
    load_curated_snapshot(settings, "engagements", d, engagements_table(d))
    load_curated_snapshot(settings, "candidate_signals", d, signals_table(d))
    # hand-made snapshots built from no raw batch: the raw landing tables exist and the event-level marts
    # (tests/integration/test_warehouse_raw_dbt.py covers them) are empty
    load_raw_batches(settings, d, [])


# --------------------------------------------------------------------------------------------------------------
# Fixtures: one warehouse per target for the module
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=WAREHOUSE_TARGETS)
def warehouse(request, tmp_path_factory):
    """(settings, build result, work dir) after loading D1 and D2 and one full `dbt build`."""
    target = request.param
    work = tmp_path_factory.mktemp(f"wh_{target}")
    with open_warehouse(target, work, "hs_test", duckdb_schema="hiring_signals") as settings:
        ws = settings.warehouse
        load_day(ws, D1)
        load_day(ws, D2)
        started = time.monotonic()
        result = run_dbt(["build"], ws, log_dir=work / "dbt")
        print(f"\n[{target}] first dbt build: {time.monotonic() - started:.1f}s; {result.summary()}")
        yield ws, result, work


def fetch(ws: WarehouseSettings, table: str, columns: str, where: str = "", order: str = "") -> list[tuple]:
    sql = f"SELECT {columns} FROM {table}"
    if where:
        sql += f" WHERE {where}"
    if order:
        sql += f" ORDER BY {order}"
    return query(ws, sql)


def mart(ws: WarehouseSettings, name: str) -> str:
    return f'"{ws.schema}"."{name}"'


def landing(ws: WarehouseSettings, dataset: str) -> str:
    return f'"{ws.landing_schema}"."curated_{dataset}"'


def mart_names(ws: WarehouseSettings) -> list[str]:
    return sorted(r[0] for r in query(ws, "SELECT table_name FROM information_schema.tables "
                                          f"WHERE table_schema = '{ws.schema}'"))


def mart_columns(ws: WarehouseSettings, name: str) -> list[str]:
    return [r[0] for r in query(ws, "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 "
                                    "AND table_name = $2 ORDER BY ordinal_position", [ws.schema, name])]


def all_marts(ws: WarehouseSettings) -> dict[str, list[tuple]]:
    """Every mart's rows: SELECT * sorted by every column."""
    out = {}
    for name in mart_names(ws):
        cols = mart_columns(ws, name)
        out[name] = fetch(ws, mart(ws, name), "*", order=", ".join(f'"{c}"' for c in cols))
    return out


def load_log(ws: WarehouseSettings) -> dict[tuple, dict]:
    rows = query_dicts(ws, f'SELECT * FROM "{ws.landing_schema}".load_log')
    return {(r["dataset"], r["as_of_date"]): r for r in rows}


# --------------------------------------------------------------------------------------------------------------
# Tests that need no warehouse
# --------------------------------------------------------------------------------------------------------------


def test_signal_catalog_seed_equals_signals():
    with open(DBT_DIR / "seeds" / "signal_catalog.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["signal"] for r in rows] == list(SIGNAL_NAMES)
    for row, s in zip(rows, SIGNALS):
        assert row["description"] == s.description
        assert row["unit"] == s.unit
        assert float(row["min_value"]) == s.min_value
        assert (float(row["max_value"]) if row["max_value"] else None) == s.max_value
        assert row["evidence"] == s.evidence
        assert (int(row["window_days"]) if row["window_days"] else None) == s.window_days


def test_score_component_seed_and_var_equal_score_components():
    """The composite's weights live in SCORE_COMPONENTS only; the dbt seed and var are checked copies."""
    with open(DBT_DIR / "seeds" / "signal_score_components.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["component"], r["signal"], float(r["weight"]), r["normalisation"]) for r in rows] == [
        (c.name, c.signal, float(c.weight), c.normalisation) for c in SCORE_COMPONENTS]
    assert sum(c.weight for c in SCORE_COMPONENTS) == 100
    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())
    assert tuple(project["vars"]["score_components"]) == SCORE_COMPONENT_NAMES


def test_dbt_signal_var_and_feed_contract_match_signals():
    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())
    assert tuple(project["vars"]["signals"]) == SIGNAL_NAMES
    assert tuple(project["vars"]["curated_datasets"]) == tuple(CURATED_SCHEMAS)
    marts = yaml.safe_load((DBT_DIR / "models" / "marts" / "_marts__models.yml").read_text())
    feed = next(m for m in marts["models"] if m["name"] == "candidate_signal_feed")
    cols = [c["name"] for c in feed["columns"]]
    expected = ["candidate_ref", "as_of_date", "feature_version", "vocabulary_version", "rubric_version"]
    for s in SIGNAL_NAMES:
        expected += [s, f"{s}_evidence"]
    assert cols == expected + ["signal_score_reason", "signal_score_explanation"]


def test_dbt_sources_document_every_landing_column():
    src = yaml.safe_load((DBT_DIR / "models" / "staging" / "curated" / "_curated__sources.yml").read_text())
    tables = {t["name"]: t for t in src["sources"][0]["tables"]}
    for dataset, schema in CURATED_SCHEMAS.items():
        documented = [c["name"] for c in tables[dataset]["columns"]]
        assert documented == schema.names, dataset
        assert tables[dataset]["identifier"] == f"curated_{dataset}"
        assert all(c.get("description") for c in tables[dataset]["columns"])


def test_loader_rejects_wrong_schema_and_foreign_dates(tmp_path):
    ws = load_settings({"HS_HOME": str(tmp_path), "HS_DUCKDB_PATH": str(tmp_path / "w.duckdb")}).warehouse
    bad = signals_table(D1).drop_columns(["window_days"])
    with pytest.raises(WarehouseLoadError, match=r"missing column window_days"):
        load_curated_snapshot(ws, "candidate_signals", D1, bad)
    relaxed = signals_table(D1).cast(pa.schema([f.with_nullable(True) for f in CURATED_SCHEMAS["candidate_signals"]]))
    with pytest.raises(WarehouseLoadError, match=r"as_of_date: nullable=True, expected nullable=False"):
        load_curated_snapshot(ws, "candidate_signals", D1, relaxed)
    with pytest.raises(WarehouseLoadError, match=r"partition being replaced is 2026-05-02"):
        load_curated_snapshot(ws, "candidate_signals", D2, signals_table(D1))
    with pytest.raises(WarehouseLoadError, match=r"unknown curated dataset"):
        load_curated_snapshot(ws, "nope", D1, signals_table(D1))
    assert not (tmp_path / "w.duckdb").exists()  # rejected before any connection


def test_content_sha256_depends_on_content_only(tmp_path):
    import pyarrow.parquet as pq

    table = signals_table(D2)
    digest = content_sha256(table)
    assert len(digest) == 64 and digest == content_sha256(signals_table(D2))
    # chunking (several files / row groups) and a Parquet round trip do not change it
    assert content_sha256(pa.concat_tables([table.slice(0, 5), table.slice(5)])) == digest
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=4)
    assert content_sha256(pq.read_table(tmp_path / "p.parquet").cast(table.schema)) == digest
    # any changed value, null or row does
    changed = {c: dict(s) for c, s in SIGNAL_VALUES[D2].items()}
    changed["cand_c"]["on_time_delivery_rate"] = (0.0, 0)
    assert content_sha256(signals_table(D2, changed)) != digest
    assert content_sha256(table.slice(1)) != digest
    empty = CURATED_SCHEMAS["candidate_signals"].empty_table()
    assert content_sha256(empty) == content_sha256(table.slice(0, 0)) != digest


# --------------------------------------------------------------------------------------------------------------
# Warehouse tests (each target)
# --------------------------------------------------------------------------------------------------------------


def test_build_ran_seeds_models_tests_and_unit_tests(warehouse):
    ws, result, _ = warehouse
    assert result.success
    kinds = {n.resource_type for n in result.nodes}
    assert {"seed", "model", "test", "unit_test"} <= kinds
    assert not result.failed_nodes
    built = {n.name for n in result.nodes if n.resource_type == "model"}
    assert {"dim_candidates", "fct_engagements", "candidate_signal_feed", "fct_candidate_signals_daily",
            "fct_signal_score_components", "int_latest_snapshot", "int_candidate_signals_pivoted",
            "stg_curated__candidate_signals"} <= built
    assert sum(n.resource_type == "unit_test" for n in result.nodes) >= 7
    assert result.node("signal_catalog").status == "success"
    assert result.node("skill_vocabulary").status == "success"  # seeded from hiring_signals/contract/vocabulary
    assert result.node("signal_score_is_the_sum_of_its_components").status == "pass"
    if ws.target == "duckdb":
        # dbt-duckdb keeps its database open in-process; run_dbt closes it so other processes can connect
        probe = (f"import duckdb; c = duckdb.connect({str(ws.duckdb_path)!r}); "
                 f"print(c.execute('select count(*) from {ws.schema}.dim_candidates').fetchone()[0])")
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "3"


def test_landing_and_schemas_follow_conventions(warehouse):
    ws, _, _ = warehouse
    schemas = {r[0] for r in query(ws, "SELECT DISTINCT table_schema FROM information_schema.tables "
                                       f"WHERE table_schema LIKE '{ws.schema}%'")}
    assert schemas == {ws.schema, f"{ws.schema}_landing", f"{ws.schema}_staging", f"{ws.schema}_intermediate",
                       f"{ws.schema}_seeds"}
    marts = {r[0] for r in query(ws, "SELECT table_name FROM information_schema.tables "
                                     f"WHERE table_schema = '{ws.schema}'")}
    assert marts == CURATED_MARTS | EVENT_MARTS
    log = fetch(ws, f'"{ws.landing_schema}".load_log', "dataset, as_of_date, row_count", order="as_of_date, dataset")
    assert log == [("candidate_signals", D1, 14), ("candidates", D1, 2), ("engagements", D1, 2),
                   ("candidate_signals", D2, 19), ("candidates", D2, 3), ("engagements", D2, 4)]
    vocabulary = fetch(ws, f'"{ws.schema}_seeds".skill_vocabulary', "distinct vocabulary_version")
    assert vocabulary == [(VOCABULARY_VERSION,)]


def test_dim_candidates_latest_snapshot(warehouse):
    ws, _, _ = warehouse
    rows = fetch(ws, mart(ws, "dim_candidates"),
                 "candidate_ref, as_of_date, event_count, sources, source_count, engagements_started, "
                 "engagements_completed, engagements_cancelled, engagements_in_progress, first_event_at, last_event_at",
                 order="candidate_ref")
    assert [r[:9] for r in rows] == [
        ("cand_a", D2, 14, "gig,marketplace", 2, 2, 1, 0, 1),
        ("cand_b", D2, 5, "gig", 1, 1, 0, 1, 0),
        ("cand_c", D2, 2, "recruiter", 1, 1, 0, 0, 1),
    ]
    assert rows[0][9] == ts("2026-04-01 09:00") and rows[0][10] == ts("2026-05-02 08:00")


def test_fct_engagements(warehouse):
    ws, _, _ = warehouse
    rows = fetch(ws, mart(ws, "fct_engagements"),
                 "engagement_ref, candidate_ref, as_of_date, status, is_completed, deliverables_submitted, "
                 "deliverables_late, on_time_rate, is_on_time, duration_days, days_posted_to_started, "
                 "feedback_count, mean_rubric_score, cancelled_by",
                 order="engagement_ref, candidate_ref")
    assert len(rows) == 4
    e1 = rows[0]
    assert e1[:7] == ("eng_1", "cand_a", D2, "completed", True, 4, 1)
    assert e1[7] == pytest.approx(0.75) and e1[8] is False
    assert e1[9] == pytest.approx(24.0) and e1[10] == pytest.approx(1.5)
    assert e1[11:13] == (2, 4.5)
    eng2 = rows[1]
    assert (eng2[0], eng2[3], eng2[7], eng2[8], eng2[13]) == ("eng_2", "cancelled", 0.0, False, "employer")
    # one engagement, two candidates: grain is engagement x candidate; nothing submitted -> null rate and flag
    assert [(r[0], r[1], r[7], r[8], r[9]) for r in rows[2:]] == [
        ("eng_3", "cand_a", None, None, None), ("eng_3", "cand_c", None, None, None)]


def test_candidate_signal_feed(warehouse):
    ws, _, _ = warehouse
    cols = ["candidate_ref", "as_of_date", "feature_version"]
    for s in SIGNAL_NAMES:
        cols += [s, f"{s}_evidence"]
    rows = fetch(ws, mart(ws, "candidate_signal_feed"), ", ".join(cols), order="candidate_ref")
    feed = {r[0]: dict(zip(cols, r)) for r in rows}
    assert sorted(feed) == ["cand_a", "cand_b", "cand_c"]
    a = feed["cand_a"]
    assert (a["as_of_date"], a["feature_version"]) == (D2, FEATURE_VERSION)
    assert a["on_time_delivery_rate"] == pytest.approx(0.75) and a["on_time_delivery_rate_evidence"] == 4
    assert a["mean_rubric_score"] == pytest.approx(4.5) and a["mean_rubric_score_evidence"] == 2
    assert a["engagements_started"] == 2.0 and a["active_verified_credentials_evidence"] == 2
    c = feed["cand_c"]
    assert c["mean_rubric_score"] is None and c["mean_rubric_score_evidence"] == 0  # no row -> null, 0 evidence
    assert c["on_time_delivery_rate"] is None and c["engagements_started_evidence"] == 1
    assert feed["cand_b"]["completion_rate"] == 0.0
    extra = {r[0]: r[1:] for r in fetch(ws, mart(ws, "candidate_signal_feed"), "candidate_ref, vocabulary_version, "
                                         "rubric_version, signal_score_reason, signal_score_explanation")}
    assert extra["cand_a"] == (VOCABULARY_VERSION, RUBRIC_VERSION, f"signal_score is {SCORE_A2[0]}", SCORE_A2[2])
    assert a["signal_score"] == SCORE_A2[0] and a["signal_score_evidence"] == 8
    assert extra["cand_c"][2:] == (None, None) and c["signal_score_evidence"] == 0


def test_feed_records_build_from_the_mart(warehouse):
    """hiring_signals.feeds reads exactly these columns and every record is valid against the feed schema."""
    import fastjsonschema

    from hiring_signals.feeds import feed_columns, feed_record, feed_schema

    ws, _, _ = warehouse
    assert feed_columns() == mart_columns(ws, "candidate_signal_feed")
    validate = fastjsonschema.compile(feed_schema())
    rows = query_dicts(ws, f"SELECT {', '.join(feed_columns())} FROM {mart(ws, 'candidate_signal_feed')}")
    records = {r["candidate_ref"]: feed_record(r) for r in rows}
    for record in records.values():
        validate({**record, "candidate_ref": "cand_" + "0" * 32})  # the hand-made refs here are not HMACs
    explained = records["cand_a"]["signals"]["signal_score"]["explanation"]
    assert sum(p["points"] for p in explained.values()) == pytest.approx(SCORE_A2[0])


def test_score_components_mart_explains_the_composite(warehouse):
    ws, _, _ = warehouse
    rows = fetch(ws, mart(ws, "fct_signal_score_components"),
                 "candidate_ref, component, input_value, normalised, weight, points, points_short_of_weight, signal_score",
                 order="candidate_ref, component_order")
    assert [r[:2] for r in rows] == [(c, n) for c in ("cand_a", "cand_b") for n in SCORE_COMPONENT_NAMES]
    a = {r[1]: r for r in rows if r[0] == "cand_a"}
    assert a["quality"][2:7] == (0.875, 0.875, 25.0, 21.875, 3.125)
    assert sum(r[5] for r in a.values()) == pytest.approx(SCORE_A2[0]) == a["activity"][7]


def test_signal_history_keeps_every_day(warehouse):
    ws, _, _ = warehouse
    counts = fetch(ws, mart(ws, "fct_candidate_signals_daily"), "as_of_date, count(*)",
                   where="1=1 GROUP BY as_of_date", order="as_of_date")
    assert counts == [(D1, 14), (D2, 19)]
    a = fetch(ws, mart(ws, "fct_candidate_signals_daily"), "as_of_date, signal_value, evidence_count, window_days",
              where="candidate_ref = 'cand_a' AND signal = 'on_time_delivery_rate'", order="as_of_date")
    assert a == [(D1, 1.0, 2, 90), (D2, 0.75, 4, 90)]


def test_loader_is_idempotent(warehouse):
    ws, _, _ = warehouse
    for dataset in CURATED_SCHEMAS:
        table = landing(ws, dataset)
        before = fetch(ws, table, "*", order=", ".join(f'"{c}"' for c in CURATED_SCHEMAS[dataset].names))
        loader_input = {"candidates": candidates_table, "engagements": engagements_table,
                        "candidate_signals": signals_table}[dataset](D2)
        assert load_curated_snapshot(ws, dataset, D2, loader_input) == loader_input.num_rows
        assert load_curated_snapshot(ws, dataset, D2, loader_input) == loader_input.num_rows
        after = fetch(ws, table, "*", order=", ".join(f'"{c}"' for c in CURATED_SCHEMAS[dataset].names))
        assert after == before and len(after) > 0
    # the round trip keeps types: timestamps come back as UTC instants, nulls as None
    first = fetch(ws, landing(ws, "engagements"), "started_at, ended_at, mean_rubric_score",
                  where=f"as_of_date = DATE '{D2}' AND engagement_ref = 'eng_3' AND candidate_ref = 'cand_c'")
    assert first == [(ts("2026-05-02 00:00"), None, None)]


def test_rerun_of_the_same_data_leaves_every_mart_identical(warehouse):
    """The hard requirement: re-running an interval changes no mart row; only changed content is picked up.
    Runs before the tests that change the loaded content."""
    ws, _, work = warehouse
    # the first run is the module fixture's load of D1 and D2 and its `dbt build` (the tests before this one
    # only read, or reload identical content): exactly that content is loaded, and nothing else
    log_before = load_log(ws)
    assert {key: row["content_sha256"] for key, row in log_before.items()} == {
        (dataset, d): content_sha256(build(d)) for d in (D1, D2)
        for dataset, build in (("candidates", candidates_table), ("engagements", engagements_table),
                               ("candidate_signals", signals_table))}
    before = all_marts(ws)
    assert set(before) == CURATED_MARTS | EVENT_MARTS
    assert all(before[name] for name in CURATED_MARTS) and not any(before[name] for name in EVENT_MARTS)
    for name in before:  # no wall-clock or per-load random value is published
        assert not {"loaded_at", "load_id", "snapshot_loaded_at"} & set(mart_columns(ws, name)), name

    time.sleep(0.01)  # a re-load is a new load: new loaded_at and load_id, same content hash
    for d in (D1, D2):
        load_day(ws, d)
    log_after = load_log(ws)
    assert log_after.keys() == log_before.keys()
    for key, row in log_after.items():
        assert row["content_sha256"] == log_before[key]["content_sha256"], key
        assert row["loaded_at"] > log_before[key]["loaded_at"] and row["load_id"] != log_before[key]["load_id"], key
    run_dbt(["build"], ws, log_dir=work / "dbt")
    assert all_marts(ws) == before

    # changed data for an existing (not latest) day: the incremental history picks it up through the hash
    changed = {c: dict(s) for c, s in SIGNAL_VALUES[D1].items()}
    changed["cand_b"]["on_time_delivery_rate"] = (0.5, 2)
    load_curated_snapshot(ws, "candidate_signals", D1, signals_table(D1, changed))
    new_hash = load_log(ws)[("candidate_signals", D1)]["content_sha256"]
    assert new_hash != log_before[("candidate_signals", D1)]["content_sha256"]
    run_dbt(["build"], ws, log_dir=work / "dbt")
    after = all_marts(ws)
    history = mart(ws, "fct_candidate_signals_daily")
    assert fetch(ws, history, "as_of_date, signal_value, evidence_count",
                 where="candidate_ref = 'cand_b' AND signal = 'on_time_delivery_rate'", order="as_of_date") == [
        (D1, 0.5, 2), (D2, 0.0, 1)]
    assert {r[0] for r in fetch(ws, history, "content_sha256", where=f"as_of_date = DATE '{D1}'")} == {new_hash}
    cols = mart_columns(ws, "fct_candidate_signals_daily")
    day = cols.index("as_of_date")
    assert [r for r in after["fct_candidate_signals_daily"] if r[day] == D2] == [
        r for r in before["fct_candidate_signals_daily"] if r[day] == D2]
    assert after["fct_candidate_signals_daily"] != before["fct_candidate_signals_daily"]
    for name in ("dim_candidates", "fct_engagements", "candidate_signal_feed", "fct_signal_score_components"):
        assert after[name] == before[name], name


def test_incremental_history_rebuilds_only_reloaded_days(warehouse):
    ws, _, work = warehouse
    changed = {c: dict(s) for c, s in SIGNAL_VALUES[D1].items()}
    changed["cand_a"]["on_time_delivery_rate"] = (0.9, 3)
    del changed["cand_b"]["active_verified_credentials"]  # a row dropped upstream must disappear too
    load_curated_snapshot(ws, "candidate_signals", D1, signals_table(D1, changed))
    run_dbt(["build", "--select", "fct_candidate_signals_daily"], ws, log_dir=work / "dbt")
    history = mart(ws, "fct_candidate_signals_daily")
    assert fetch(ws, history, "as_of_date, count(*)", where="1=1 GROUP BY as_of_date", order="as_of_date") == [
        (D1, 13), (D2, 19)]
    a = fetch(ws, history, "as_of_date, signal_value, evidence_count",
              where="candidate_ref = 'cand_a' AND signal = 'on_time_delivery_rate'", order="as_of_date")
    assert a == [(D1, 0.9, 3), (D2, 0.75, 4)]
    # the incremental result equals a full rebuild of the same model
    incremental = fetch(ws, history, "candidate_ref, signal, as_of_date, signal_value, evidence_count, content_sha256",
                        order="candidate_ref, signal, as_of_date")
    run_dbt(["run", "--select", "fct_candidate_signals_daily", "--full-refresh"], ws, log_dir=work / "dbt")
    assert fetch(ws, history, "candidate_ref, signal, as_of_date, signal_value, evidence_count, content_sha256",
                 order="candidate_ref, signal, as_of_date") == incremental


def test_source_freshness_reads_the_load_log(warehouse):
    ws, _, work = warehouse
    result = run_dbt(["source", "freshness", "--select", "source:curated"], ws, log_dir=work / "dbt")
    assert [(n.name, n.status) for n in result.nodes] == [("load_log", "pass")]
    # no raw batch of any source was loaded here: each source's freshness says so instead of passing
    result = run_dbt(["source", "freshness"], ws, log_dir=work / "dbt", raise_on_failure=False)
    assert not result.success
    assert sorted((n.unique_id.split(".")[-2], n.status) for n in result.nodes) == [
        ("curated", "pass"), ("gig", "error"), ("marketplace", "error"), ("recruiter", "error")]


def test_out_of_range_signal_fails_the_build_and_keeps_published_marts(warehouse):
    """Runs last for its target: it leaves a bad D3 loaded."""
    ws, _, work = warehouse
    bad = {c: dict(s) for c, s in SIGNAL_VALUES[D2].items()}
    bad["cand_b"]["completion_rate"] = (1.5, 1)  # a ratio above the catalog's max of 1
    load_curated_snapshot(ws, "candidates", D3, candidates_table(D3, CANDIDATES[D2]))
    load_curated_snapshot(ws, "engagements", D3, engagements_table(D3, ENGAGEMENTS[D2]))
    load_curated_snapshot(ws, "candidate_signals", D3, signals_table(D3, bad))
    with pytest.raises(DbtBuildFailed) as info:
        run_dbt(["build"], ws, log_dir=work / "dbt")
    err = info.value
    failed = err.failed_names
    assert failed == ["candidate_signal_values_within_catalog_range"], failed
    assert "test candidate_signal_values_within_catalog_range: fail (1 failing rows)" in str(err)
    statuses = {n.name: n.status for n in err.result.nodes}
    # everything downstream of the failed test is skipped, so the published feed still shows D2
    assert statuses["candidate_signal_feed"] == "skipped"
    assert statuses["fct_candidate_signals_daily"] == "skipped"
    assert {r[0] for r in fetch(ws, mart(ws, "candidate_signal_feed"), "as_of_date")} == {D2}
    assert err.result.elapsed_s > 0
