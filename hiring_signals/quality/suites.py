"""The GX expectation suites, derived from the contract and the signal catalog.

The suites are committed as reviewable JSON under expectations/suites/ (`hs quality write-suites`
regenerates them; a test fails when the committed files drift from what the contract implies). At run time
the JSON files, not this module, are what gets validated, so a reviewer reads exactly what is enforced.
"""

from __future__ import annotations

import json
from pathlib import Path

from hiring_signals.config import REPO_ROOT
from hiring_signals.contract.curated_schema import CURATED_SCHEMAS, FEATURE_VERSION, RUBRIC_VERSION, SIGNALS
from hiring_signals.contract.vocabulary import VOCABULARY_VERSION
from hiring_signals.contract.raw_schema import RAW_EVENT_COLUMNS
from hiring_signals.contract.registry import known_type_names
from hiring_signals.identity import CANDIDATE_REF_PATTERN

SUITES_DIR = REPO_ROOT / "expectations" / "suites"


def _gx():
    import great_expectations as gx  # heavy (~5 s): imported only when a suite is built or run
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    return gx, gxe, Column


def raw_events_suite():
    """One raw batch after normalisation and in-batch de-duplication, before it is committed."""
    gx, gxe, _ = _gx()
    expectations = [gxe.ExpectColumnValuesToNotBeNull(column=c.name) for c in RAW_EVENT_COLUMNS if not c.nullable]
    expectations += [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source", "event_id"]),
        gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=sorted(known_type_names())),
        gxe.ExpectColumnValuesToMatchRegex(column="candidate_ref", regex=CANDIDATE_REF_PATTERN),
        gxe.ExpectColumnValuesToBeBetween(column="event_version", min_value=1, max_value=99),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="ingested_at", column_B="occurred_at", or_equal=True),
    ]
    return gx.ExpectationSuite(
        name="raw_events",
        expectations=expectations,
        meta={"about": "Gate between normalisation and the raw-zone commit; generated from hiring_signals.contract."},
    )


def candidate_signals_suite():
    """One curated candidate_signals snapshot (long format), before it is committed."""
    gx, gxe, Column = _gx()
    columns = CURATED_SCHEMAS["candidate_signals"]
    expectations = [gxe.ExpectColumnValuesToNotBeNull(column=f.name) for f in columns if not f.nullable]
    expectations += [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["as_of_date", "candidate_ref", "signal"]),
        gxe.ExpectColumnValuesToBeInSet(column="signal", value_set=[s.name for s in SIGNALS]),
        gxe.ExpectColumnValuesToMatchRegex(column="candidate_ref", regex=CANDIDATE_REF_PATTERN),
        gxe.ExpectColumnValuesToBeBetween(column="evidence_count", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="feature_version", value_set=[FEATURE_VERSION]),
        gxe.ExpectColumnValuesToBeInSet(column="vocabulary_version", value_set=[VOCABULARY_VERSION]),
        gxe.ExpectColumnValuesToBeInSet(column="rubric_version", value_set=[RUBRIC_VERSION]),
        # the composite always carries its per-component explanation
        gxe.ExpectColumnValuesToNotBeNull(column="explanation", row_condition=Column("signal") == "signal_score"),
    ]
    # One range check per distinct [min, max] of the catalog (not one per signal): each expectation is a query
    # on the Spark engine, and thirty signals share five ranges.
    ranges: dict[tuple, list[str]] = {}
    for s in SIGNALS:
        ranges.setdefault((s.min_value, s.max_value), []).append(s.name)
    for (low, high), names in ranges.items():
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(
                column="value", min_value=low, max_value=high, row_condition=Column("signal").is_in(names),
                meta={"signals": names},
            )
        )
    return gx.ExpectationSuite(
        name="candidate_signals",
        expectations=expectations,
        meta={"about": "Gate between the Spark signal job and the curated-zone commit; ranges from the signal catalog."},
    )


# --- marts ------------------------------------------------------------------------------------------------

MARTS_DIR = REPO_ROOT / "dbt_project" / "models" / "marts"
MARTS_SUITE_PREFIX = "marts."
# Row counts may move by at most this factor per day between consecutive publications (either way): a fan-out join
# or a lost partition moves them by far more, while a growing history (a day more of fct_candidate_signals_daily
# doubles it on day two) stays inside. Stored in each suite's meta, where the gate reads it.
ROW_COUNT_MAX_FACTOR = 3.0
# Marts every other mart's keys must resolve in, by key column (when that mart exists).
REFERENCE_DIMENSIONS = {"candidate_ref": "dim_candidates", "employer_ref": "dim_employers"}
RATIO_SUFFIXES = ("_rate", "_ratio", "_share")
RUBRIC_SCORE_PREFIX = "score_"  # score_<dimension> holds one review's score for the signal rubric_<dimension>
# Ranges the column-name conventions below cannot see (declared as expression tests in the dbt YAML).
EXTRA_RANGES = {
    ("fct_engagements", "duration_days"): (0, None),
    ("fct_signal_score_components", "normalised"): (0, 1),
    ("fct_signal_score_components", "weight"): (0, None),
    ("fct_signal_score_components", "points"): (0, None),
}
_COUNT_TYPES = {"bigint", "integer", "int", "smallint"}


def mart_models(marts_dir: Path = MARTS_DIR) -> dict[str, dict]:
    """The mart models declared in the dbt YAML under models/marts/, by name (columns, tests, constraints)."""
    import yaml

    models: dict[str, dict] = {}
    for path in sorted(marts_dir.glob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            models[model["name"]] = model
    return models


def _test_name_and_args(test) -> tuple[str, dict]:
    if isinstance(test, str):
        return test, {}
    name, body = next(iter(test.items()))
    body = body or {}
    return name, body.get("arguments", body)


def _ref_target(ref: str) -> str | None:
    ref = ref.strip()
    if ref.startswith("ref(") and ref.endswith(")"):
        return ref[4:-1].strip().strip("'\"")
    return None


def reference_parameter(mart: str, column: str) -> str:
    """Name of the runtime parameter holding the distinct values of mart.column (GX forbids dots in names)."""
    return f"values__{mart}__{column}"


def mart_references(name: str, model: dict, models: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(column, referenced mart, referenced column) that must resolve, from the YAML and the key conventions."""
    refs = set()
    for column in model.get("columns", []):
        for test in column.get("data_tests") or []:
            test_name, args = _test_name_and_args(test)
            target = _ref_target(args.get("to", "")) if test_name == "relationships" else None
            if target in models and target != name:
                refs.add((column["name"], target, args["field"]))
        dimension = REFERENCE_DIMENSIONS.get(column["name"])
        if dimension in models and dimension != name:
            refs.add((column["name"], dimension, column["name"]))
    return sorted(refs)


def mart_suite(name: str, model: dict, models: dict[str, dict]):
    """The GX suite of one mart, derived from its dbt YAML, the signal catalog and the conventions above."""
    gx, gxe, Column = _gx()
    catalog = {s.name: s for s in SIGNALS}
    columns = {c["name"]: c for c in model.get("columns", [])}
    expectations = [gxe.ExpectTableRowCountToBeBetween(min_value={"$PARAMETER": "min_rows"},
                                                        max_value={"$PARAMETER": "max_rows"})]
    for column in columns.values():
        if any(c.get("type") == "not_null" for c in column.get("constraints") or []):
            expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=column["name"]))
    for column in columns.values():
        if any(_test_name_and_args(t)[0] == "unique" for t in column.get("data_tests") or []):
            expectations.append(gxe.ExpectColumnValuesToBeUnique(column=column["name"]))
    for test in model.get("data_tests") or []:
        test_name, args = _test_name_and_args(test)
        if test_name == "unique_combination_of_columns":
            expectations.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(args["combination_of_columns"])))
    for column, target, field_name in mart_references(name, model, models):
        expectations.append(gxe.ExpectColumnValuesToBeInSet(
            column=column, value_set={"$PARAMETER": reference_parameter(target, field_name)},
            meta={"references": f"{target}.{field_name}"}))
    for column in columns.values():
        cname, ctype = column["name"], str(column.get("data_type", "")).lower()
        if (name, cname) in EXTRA_RANGES:
            low, high = EXTRA_RANGES[(name, cname)]
        elif cname in catalog:
            low, high = catalog[cname].min_value, catalog[cname].max_value
        elif cname.startswith(RUBRIC_SCORE_PREFIX) and f"rubric_{cname.removeprefix(RUBRIC_SCORE_PREFIX)}" in catalog:
            rubric = catalog[f"rubric_{cname.removeprefix(RUBRIC_SCORE_PREFIX)}"]
            low, high = rubric.min_value, rubric.max_value
        elif cname.endswith(RATIO_SUFFIXES):
            low, high = 0, 1
        elif ctype in _COUNT_TYPES:
            low, high = 0, None  # every integer column of a mart is a count, an order or a number of days
        else:
            continue
        expectations.append(gxe.ExpectColumnValuesToBeBetween(column=cname, min_value=low, max_value=high))
    if {"signal", "signal_value"} <= set(columns):  # long format: each signal's value in its catalog range
        ranges: dict[tuple, list[str]] = {}
        for s in SIGNALS:
            ranges.setdefault((s.min_value, s.max_value), []).append(s.name)
        for (low, high), names in ranges.items():
            expectations.append(gxe.ExpectColumnValuesToBeBetween(
                column="signal_value", min_value=low, max_value=high, row_condition=Column("signal").is_in(names),
                meta={"signals": names}))
    return gx.ExpectationSuite(
        name=MARTS_SUITE_PREFIX + name,
        expectations=expectations,
        meta={"about": f"Gate on the published mart {name} before the feed is exported; generated from the dbt "
                       "YAML under dbt_project/models/marts/ and the signal catalog (hiring_signals.quality.suites).",
              "row_count_max_factor": ROW_COUNT_MAX_FACTOR},
    )


def marts_suites(marts_dir: Path = MARTS_DIR) -> dict[str, object]:
    models = mart_models(marts_dir)
    return {MARTS_SUITE_PREFIX + name: mart_suite(name, model, models) for name, model in models.items()}


BUILDERS = {"raw_events": raw_events_suite, "candidate_signals": candidate_signals_suite}


def all_suites() -> dict[str, object]:
    return {**{name: build() for name, build in BUILDERS.items()}, **marts_suites()}


def suite_json(suite) -> str:
    data = suite.to_json_dict()
    data.pop("id", None)
    for expectation in data["expectations"]:
        expectation.pop("id", None)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_suites(directory: Path = SUITES_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    suites = all_suites()
    for name, suite in suites.items():
        path = directory / f"{name}.json"
        path.write_text(suite_json(suite))
        written.append(path)
    # A mart dropped from the YAML must not leave its suite behind to be validated against nothing.
    for stale in directory.glob(f"{MARTS_SUITE_PREFIX}*.json"):
        if stale.stem not in suites:
            stale.unlink()
    return written
