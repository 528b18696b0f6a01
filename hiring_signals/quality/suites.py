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


BUILDERS = {"raw_events": raw_events_suite, "candidate_signals": candidate_signals_suite}


def suite_json(suite) -> str:
    data = suite.to_json_dict()
    data.pop("id", None)
    for expectation in data["expectations"]:
        expectation.pop("id", None)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_suites(directory: Path = SUITES_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in BUILDERS.items():
        path = directory / f"{name}.json"
        path.write_text(suite_json(build()))
        written.append(path)
    return written
