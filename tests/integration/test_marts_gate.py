"""The GX marts gate on real warehouses (DuckDB and PostgreSQL): good marts pass, and a duplicate grain key, an
orphan reference, an out-of-range value or a row-count jump beyond the bound each fail it.

The marts here are small hand-made tables described by their own dbt-style YAML (suites generated from it the
way `hs quality write-suites` does for dbt_project/), so the gate is tested independently of the dbt models.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
import yaml

from hiring_signals import pipeline
from hiring_signals.quality.marts import MartsGateFailed, row_count_bounds, validate_marts
from hiring_signals.quality.suites import marts_suites, suite_json
from hiring_signals.storage import layout
from hiring_signals.warehouse import warehouse_connection
from tests.warehouse_targets import WAREHOUSE_TARGETS, open_warehouse

MARTS_YAML = {
    "models": [
        {"name": "dim_candidates", "columns": [
            {"name": "candidate_ref", "data_type": "text", "constraints": [{"type": "not_null"}], "data_tests": ["unique"]},
            {"name": "event_count", "data_type": "bigint", "constraints": [{"type": "not_null"}]},
        ]},
        {"name": "dim_employers", "columns": [
            {"name": "employer_ref", "data_type": "text", "constraints": [{"type": "not_null"}], "data_tests": ["unique"]},
        ]},
        {"name": "fct_engagements",
         "data_tests": [{"unique_combination_of_columns": {"arguments": {"combination_of_columns": ["engagement_ref", "candidate_ref"]}}}],
         "columns": [
            {"name": "engagement_ref", "data_type": "text", "constraints": [{"type": "not_null"}]},
            {"name": "candidate_ref", "data_type": "text", "constraints": [{"type": "not_null"}]},
            {"name": "employer_ref", "data_type": "text"},
            {"name": "deliverables_submitted", "data_type": "bigint", "constraints": [{"type": "not_null"}]},
            {"name": "on_time_rate", "data_type": "double precision"},
            {"name": "mean_rubric_score", "data_type": "double precision"},
        ]},
    ]
}

GOOD = {
    "dim_candidates": [("cand_a", 10), ("cand_b", 4), ("cand_c", 2)],
    "dim_employers": [("emp_1",), ("emp_2",)],
    # (engagement_ref, candidate_ref, employer_ref, deliverables_submitted, on_time_rate, mean_rubric_score)
    "fct_engagements": [("eng_1", "cand_a", "emp_1", 4, 0.75, 4.5), ("eng_2", "cand_b", None, 1, 0.0, None),
                        ("eng_3", "cand_a", "emp_2", 0, None, None), ("eng_3", "cand_c", "emp_2", 0, None, None)],
}
COLUMNS = {m["name"]: [(c["name"], c["data_type"]) for c in m["columns"]] for m in MARTS_YAML["models"]}


@pytest.fixture(scope="module")
def suites_dir(tmp_path_factory):
    marts_dir = tmp_path_factory.mktemp("marts_yaml")
    (marts_dir / "_marts.yml").write_text(yaml.safe_dump(MARTS_YAML))
    out = tmp_path_factory.mktemp("suites")
    for name, suite in marts_suites(marts_dir).items():
        (out / f"{name}.json").write_text(suite_json(suite))
    return out


@pytest.fixture(params=WAREHOUSE_TARGETS)
def wh_settings(request, hs_env, tmp_path):
    with open_warehouse(request.param, tmp_path, "hs_gate", base_env=hs_env) as settings:
        yield settings


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def publish(settings, marts: dict[str, list[tuple]]) -> None:
    """(Re)create the mart tables with exactly these rows, in the same SQL on both targets."""
    ws = settings.warehouse
    with warehouse_connection(ws) as conn:
        statements = [f'CREATE SCHEMA IF NOT EXISTS "{ws.schema}"']
        for mart, rows in marts.items():
            table = f'"{ws.schema}"."{mart}"'
            columns = ", ".join(f'"{n}" {t}' for n, t in COLUMNS[mart])
            statements += [f"DROP TABLE IF EXISTS {table}", f"CREATE TABLE {table} ({columns})"]
            if rows:
                values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
                statements.append(f"INSERT INTO {table} VALUES {values}")
        if ws.target == "duckdb":
            for sql in statements:
                conn.execute(sql)
        else:
            with conn.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)
            conn.commit()


def failed(result) -> set[tuple]:
    return {(f["mart"], f["type"], str(f["column"])) for f in result.failures}


def test_good_marts_pass_without_a_bound_on_the_first_publication(wh_settings, suites_dir):
    publish(wh_settings, GOOD)
    result = validate_marts(wh_settings.warehouse, batch="2026-05-01", directory=suites_dir)
    assert result.success, result.summary()
    assert result.row_counts == {"dim_candidates": 3, "dim_employers": 2, "fct_engagements": 4}
    assert result.bounds == {m: [0, None] for m in GOOD} and result.previous is None
    assert result.evaluated == sum(len(json.loads(p.read_text())["expectations"]) for p in suites_dir.glob("*.json"))


def test_duplicate_grain_keys_fail(wh_settings, suites_dir):
    publish(wh_settings, {**GOOD, "dim_candidates": GOOD["dim_candidates"] + [("cand_a", 1)],
                          "fct_engagements": GOOD["fct_engagements"] + [GOOD["fct_engagements"][0]]})
    result = validate_marts(wh_settings.warehouse, batch="2026-05-01", directory=suites_dir)
    assert failed(result) == {("dim_candidates", "expect_column_values_to_be_unique", "candidate_ref"),
                              ("fct_engagements", "expect_compound_columns_to_be_unique",
                               "['engagement_ref', 'candidate_ref']")}


def test_orphan_references_fail(wh_settings, suites_dir):
    publish(wh_settings, {**GOOD, "fct_engagements": GOOD["fct_engagements"] + [
        ("eng_4", "cand_zz", "emp_1", 0, None, None), ("eng_5", "cand_b", "emp_zz", 0, None, None)]})
    result = validate_marts(wh_settings.warehouse, batch="2026-05-01", directory=suites_dir)
    assert failed(result) == {("fct_engagements", "expect_column_values_to_be_in_set", "candidate_ref"),
                              ("fct_engagements", "expect_column_values_to_be_in_set", "employer_ref")}
    samples = {f["column"]: f["sample"] for f in result.failures}
    assert samples == {"candidate_ref": ["cand_zz"], "employer_ref": ["emp_zz"]}


def test_out_of_range_values_fail(wh_settings, suites_dir):
    publish(wh_settings, {**GOOD, "dim_candidates": [("cand_a", -1), ("cand_b", 4), ("cand_c", 2)],
                          "fct_engagements": [("eng_1", "cand_a", "emp_1", 4, 1.5, 4.5),
                                              ("eng_2", "cand_b", None, 1, 0.0, 0.5)]})
    result = validate_marts(wh_settings.warehouse, batch="2026-05-01", directory=suites_dir)
    assert failed(result) == {("dim_candidates", "expect_column_values_to_be_between", "event_count"),
                              ("fct_engagements", "expect_column_values_to_be_between", "on_time_rate"),
                              ("fct_engagements", "expect_column_values_to_be_between", "mean_rubric_score")}


def test_row_count_bounds():
    assert row_count_bounds(None, 3.0) == [0, None]
    assert row_count_bounds(400, 3.0) == [133, 1200]
    assert row_count_bounds(0, 3.0) == [0, None]  # an empty mart bounds nothing
    assert row_count_bounds(700, 3.0, days=7) == [33, 14700]  # a week after the previous publication
    # a young mart grows from at least ROW_COUNT_GROWTH_FLOOR (100) rows: the demo's cold-start backfill went
    # from 10 deliverables in its first week to 1,619 six weeks later
    assert row_count_bounds(4, 3.0) == [1, 300]
    assert row_count_bounds(10, 3.0, days=42) == [0, 12600]


def test_stored_previous_result_bounds_the_next_publication(wh_settings, suites_dir, lake):
    d1, d2, d3 = date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)
    target = wh_settings.warehouse.target
    publish(wh_settings, GOOD)
    first = pipeline.gate_marts(wh_settings, d1, suites_dir=suites_dir)
    assert first["previous"] is None and first["row_counts"]["fct_engagements"] == 4
    index = (wh_settings.home / "data_docs" / "index.html").read_text()
    assert all(f"marts.{m}" in index for m in GOOD)

    # a fan-out bug: every engagement row a hundredfold (grain kept unique by a suffix), beyond the factor of 3
    # (on a 4-row mart, scaled from ROW_COUNT_GROWTH_FLOOR = 100 rows: at most 300 the next day)
    fanned = [(f"{e}_{i}", c, emp, n, r, s) for e, c, emp, n, r, s in GOOD["fct_engagements"] for i in range(100)]
    publish(wh_settings, {**GOOD, "fct_engagements": fanned})
    with pytest.raises(MartsGateFailed, match=r"expect_table_row_count_to_be_between: observed 400"):
        pipeline.gate_marts(wh_settings, d2, suites_dir=suites_dir)
    # GX lays a dotted suite name out as directories: validations/marts/<mart>/<run>/...
    runs = sorted(p.name for p in (wh_settings.home / "data_docs" / "validations" / "marts" / "fct_engagements").iterdir())
    assert runs == [f"{target}__2026-05-01", f"{target}__2026-05-02"]
    stored = lake.get_json(layout.validation_result_ref(lake, "marts", f"{target}/{d2}"))
    assert stored["success"] is False and stored["previous"] == "2026-05-01"
    assert stored["bounds"]["fct_engagements"] == [1, 300] and stored["row_counts"]["fct_engagements"] == 400

    # the failed D2 never bounds D3: D3 is compared with D1, the last publication that passed, two days before
    publish(wh_settings, GOOD)
    third = pipeline.gate_marts(wh_settings, d3, suites_dir=suites_dir)
    assert third["previous"] == "2026-05-01"
    stored = lake.get_json(layout.validation_result_ref(lake, "marts", f"{target}/{d3}"))
    assert stored["bounds"]["fct_engagements"] == [0, 600]
    # rerunning D2 on fixed marts passes and stores a result identical to what a first good run would
    second = pipeline.gate_marts(wh_settings, d2, suites_dir=suites_dir)
    body = lake.get(layout.validation_result_ref(lake, "marts", f"{target}/{d2}"))
    pipeline.gate_marts(wh_settings, d2, suites_dir=suites_dir)
    assert lake.get(layout.validation_result_ref(lake, "marts", f"{target}/{d2}")) == body
    assert second["previous"] == "2026-05-01"
