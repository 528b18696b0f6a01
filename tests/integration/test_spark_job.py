"""The candidate-signals Spark job end to end: simulators -> ingestion -> raw zone (moto S3) -> spark-submit.

The raw zone is the session's simulated lake (tests/simulated_lake.py: the real ingestion steps over HTTP, 31
daily batches from the marketplace and from the gig platform, whose freelancers are partly the marketplace's
people), shared with test_warehouse_simulated.py. The job runs through hiring_signals.pipeline.build_signals
(real spark-submit, local[2], the Python Data Source reading S3 through pyarrow) for the persona date (the
session's `simulated_snapshot`); its rerun, the earlier-date and the failed-gate runs call the job's run()
in-process on the session's SparkSession to save three JVM start-ups. Checks the scripted personas' exact values,
byte-identical reruns, point-in-time correctness at an earlier date, data skipping, cross-source identity
and gig engagements' scope, and that a failed gate commits nothing.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hiring_signals.contract.curated_schema import (
    CURATED_DATASETS,
    CURATED_SCHEMAS,
    FEATURE_VERSION,
    RUBRIC_DIMENSIONS,
    SCORE_COMPONENTS,
    SIGNAL_NAMES,
)
from hiring_signals.contract.vocabulary import VOCABULARY_VERSION
from hiring_signals.identity import Pseudonymiser
from hiring_signals.pipeline import as_of_end
from hiring_signals.simulators.marketplace import persona_as_of, persona_expected_signals
from hiring_signals.simulators.marketplace.personas import (
    ADA,
    BEN,
    CARA,
    DAN,
    SIGNAL_NAMES as PERSONA_EXACT_SIGNALS,
    TIME_RELATIVE_SIGNAL_NAMES,
    persona_expected_time_relative,
)
from hiring_signals.storage import Lake
from hiring_signals.storage import layout
from tests.simulated_lake import AS_OF, START, day, patched_environ

pytestmark = pytest.mark.spark

EARLIER = START + timedelta(days=23)  # Dan's feedback (occurred day 13) is only ingested on day 25


@pytest.fixture(scope="module")
def settings(simulated_lake):
    # build_signals hands the job os.environ: the job must see this lake's endpoint and buckets.
    with patched_environ(simulated_lake.env):
        yield simulated_lake.settings


@pytest.fixture(scope="module")
def lake(simulated_lake) -> Lake:
    return simulated_lake.lake


@pytest.fixture(scope="module")
def snapshot(simulated_snapshot) -> dict:
    return simulated_snapshot


def curated(lake: Lake, dataset: str, as_of_date: date) -> pa.Table:
    manifest = lake.get_json(layout.curated_manifest_ref(lake, dataset, as_of_date))
    tables = [pq.read_table(io.BytesIO(lake.get(lake.ref(f["zone"], f["key"])))) for f in manifest["files"]]
    return pa.concat_tables(tables)


def signals(lake: Lake, as_of_date: date) -> dict[str, dict[str, tuple]]:
    out: dict[str, dict[str, tuple]] = {}
    for r in curated(lake, "candidate_signals", as_of_date).to_pylist():
        out.setdefault(r["candidate_ref"], {})[r["signal"]] = (r["value"], r["evidence_count"])
    return out


def signal_rows(lake: Lake, as_of_date: date) -> dict[tuple[str, str], dict]:
    return {(r["candidate_ref"], r["signal"]): r for r in curated(lake, "candidate_signals", as_of_date).to_pylist()}


def rubric_prior(rows: dict[tuple[str, str], dict], candidate_ref: str) -> dict[str, float]:
    """The population means the job shrank toward, as its explanation reports them (rounded to 1e-6)."""
    return {d: json.loads(rows[(candidate_ref, f"rubric_{d}")]["explanation"])["prior_mean"] for d in RUBRIC_DIMENSIONS}


def curated_objects(lake: Lake) -> dict[str, bytes]:
    bucket = lake.settings.lake_bucket
    keys = [k for prefix in ("curated/", "ops/validations/candidate_signals/") for k in lake.list_keys(bucket, prefix)]
    return {k: lake.get(lake.ref(k.split("/")[0], k)) for k in keys}


def test_personas_get_their_hand_computed_signals(snapshot, settings, lake):
    assert as_of_end(AS_OF) == persona_as_of(START)
    pseudonymiser = Pseudonymiser(settings.pseudonym_key())
    got = signals(lake, AS_OF)
    for email, expected in persona_expected_signals(START).items():
        row = got[pseudonymiser.candidate_ref(email)]
        assert set(row) == set(SIGNAL_NAMES)
        for signal, value in expected.items():
            actual = row[signal][0]
            assert actual == (None if value is None else pytest.approx(value)), (email, signal, actual)
    ada, ben, cara, dan = (got[pseudonymiser.candidate_ref(e)] for e in (ADA, BEN, CARA, DAN))
    assert ada["on_time_delivery_rate"] == (1.0, 6)
    assert ada["mean_rubric_score"][1] == 3
    assert ben["completion_rate"] == (0.5, 2)
    assert ben["active_verified_credentials"] == (0.0, 1)
    assert cara["active_verified_credentials"] == (1.0, 3)
    assert (ada["skill_breadth"], ada["skills_work_and_credential"]) == ((4.0, 5), (1.0, 5))  # 3 engagements + 2
    assert cara["referrals_received"] == (1.0, 1) and dan["repeat_engagement_rate"] == (1.0, 1)
    assert ben["median_days_late"] == (pytest.approx(20 / 24), 2)


def test_personas_time_relative_signals_and_composite_follow_the_documented_formulas(snapshot, settings, lake):
    """Rubric dimensions, activity and the composite depend on the as-of instant and on the population's rubric
    means; given the prior the job reports, the scripted personas' values follow by the formulas."""
    assert set(PERSONA_EXACT_SIGNALS) | set(TIME_RELATIVE_SIGNAL_NAMES) == set(SIGNAL_NAMES)
    pseudonymiser = Pseudonymiser(settings.pseudonym_key())
    rows = signal_rows(lake, AS_OF)
    prior = rubric_prior(rows, pseudonymiser.candidate_ref(ADA))
    assert all(2.5 < m < 4.8 for m in prior.values())  # the simulated population's means
    expected = persona_expected_time_relative(START, as_of_end(AS_OF), prior, settings.signal_half_life_days)
    for email, values in expected.items():
        ref = pseudonymiser.candidate_ref(email)
        assert set(values) == set(TIME_RELATIVE_SIGNAL_NAMES)
        for signal, value in values.items():
            row = rows[(ref, signal)]
            assert row["value"] == (None if value is None else pytest.approx(value, rel=1e-5)), (email, signal)
            assert row["reason"] and (row["feature_version"], row["vocabulary_version"]) == (FEATURE_VERSION,
                                                                                               VOCABULARY_VERSION)
        score = rows[(ref, "signal_score")]
        parts = json.loads(score["explanation"])
        assert list(parts) == [c.name for c in SCORE_COMPONENTS]
        assert sum(p["points"] for p in parts.values()) == pytest.approx(score["value"], abs=1e-4)
    scores = {e: rows[(pseudonymiser.candidate_ref(e), "signal_score")]["value"] for e in (ADA, BEN, CARA, DAN)}
    assert max(scores, key=scores.get) == ADA and min(scores, key=scores.get) == BEN


def test_gig_engagements_have_their_scope_and_people_join_across_sources(snapshot, settings, lake):
    engagements = curated(lake, "engagements", AS_OF).to_pylist()
    gig_rows = [r for r in engagements if r["source"] == "gig"]
    assert gig_rows and all(r["title"] and r["category"] and r["skills"] and r["employer_ref"].startswith("gig:")
                            for r in gig_rows)
    assert all(r["engagement_ref"].split(":", 1)[0] == r["source"] for r in engagements)  # namespaced refs
    candidates = curated(lake, "candidates", AS_OF).to_pylist()
    assert any(r["sources"] == "gig,marketplace" for r in candidates)  # one person, two platforms, one ref


def test_snapshot_is_complete_and_matches_the_contract(snapshot, settings, lake):
    assert snapshot["as_of_date"] == AS_OF.isoformat()
    assert snapshot["as_of_end"] == persona_as_of(START).isoformat()
    assert snapshot["feature_version"] == FEATURE_VERSION
    assert snapshot["validation"]["success"] is True
    # data skipping: the 30 batches per source ending by as_of_end are read, the 31st (ingested later) is not
    assert snapshot["inputs"]["batches"] == [f"{s}/{day(n).key}" for s in ("marketplace", "gig") for n in range(30)]
    assert snapshot["inputs"]["sources"]["marketplace"]["complete"] is True
    assert snapshot["inputs"]["sources"]["gig"]["complete"] is True
    assert (snapshot["vocabulary_version"], snapshot["parameters"]["half_life_days"]) == (VOCABULARY_VERSION, 180.0)
    tables = {name: curated(lake, name, AS_OF) for name in CURATED_DATASETS}
    for name, table in tables.items():
        assert table.schema == CURATED_SCHEMAS[name]
        assert table.num_rows == snapshot["snapshot_rows"][name] > 0
    candidates = tables["candidates"].column("candidate_ref").to_pylist()
    assert tables["candidate_signals"].num_rows == len(candidates) * len(SIGNAL_NAMES)
    gate = lake.get_json(layout.validation_result_ref(lake, "candidate_signals", AS_OF.isoformat()))
    assert gate["success"] and gate["batch"] == f"candidate_signals/{AS_OF.isoformat()}"
    pseudonymiser = Pseudonymiser(settings.pseudonym_key())
    ada = [r for r in tables["engagements"].to_pylist() if r["candidate_ref"] == pseudonymiser.candidate_ref(ADA)]
    assert [(r["status"], r["deliverables_submitted"], r["deliverables_on_time"], r["feedback_count"]) for r in ada] \
        == [("completed", 2, 2, 1)] * 3
    assert {r["category"] for r in ada} == {"data-analysis"}


def test_rerun_writes_identical_bytes(snapshot, spark, settings, lake):
    """The date rerun in-process on the test session (local[1], one shuffle partition) after spark-submit's
    local[2] (four): the same bytes, whatever the partitioning, and no JVM start-up for a second run."""
    from spark_jobs.candidate_signals import job

    before = curated_objects(lake)
    assert job.run(spark, settings, AS_OF) == 0
    assert lake.get_json(layout.curated_manifest_ref(lake, "candidate_signals", AS_OF)) == snapshot
    assert curated_objects(lake) == before


def test_earlier_as_of_date_does_not_see_later_knowledge(snapshot, spark, settings, lake):
    # In-process (the job's run() on the test session): the same code path minus spark-submit's start-up.
    from spark_jobs.candidate_signals import job

    assert job.run(spark, settings, EARLIER) == 0
    pseudonymiser = Pseudonymiser(settings.pseudonym_key())
    earlier, later = signals(lake, EARLIER), signals(lake, AS_OF)
    dan, ben = pseudonymiser.candidate_ref(DAN), pseudonymiser.candidate_ref(BEN)
    assert earlier[dan]["mean_rubric_score"] == (None, 0)  # occurred day 13, ingested day 25
    assert later[dan]["mean_rubric_score"] == (4.5, 1)
    assert earlier[dan]["engagements_completed"] == (1.0, 1)
    assert earlier[dan]["rubric_quality"] == (None, 0) and earlier[dan]["would_rehire_rate"] == (None, 0)
    assert later[dan]["rubric_quality"][1] == 1
    # the time-relative signals of the earlier date follow from what was known then (and its own prior)
    rows = signal_rows(lake, EARLIER)
    expected = persona_expected_time_relative(START, as_of_end(EARLIER), rubric_prior(rows, pseudonymiser.candidate_ref(ADA)))
    for email, values in expected.items():
        for signal, value in values.items():
            got = rows[(pseudonymiser.candidate_ref(email), signal)]["value"]
            assert got == (None if value is None else pytest.approx(value, rel=1e-5)), (email, signal)
    manifest = lake.get_json(layout.curated_manifest_ref(lake, "candidate_signals", EARLIER))
    assert manifest["inputs"]["batches"] == [f"{s}/{day(n).key}" for s in ("marketplace", "gig") for n in range(24)]
    # the snapshot committed for AS_OF is untouched by building another date
    assert signals(lake, AS_OF) == later


def test_failed_gate_commits_nothing(spark, settings, lake, monkeypatch, capsys):
    from spark_jobs.candidate_signals import job
    from spark_jobs.candidate_signals import transforms

    original = transforms.signal_columns

    def out_of_range(*args):
        columns = original(*args)
        rate = columns["completion_rate"]  # ratios above 1 must never be published
        columns["completion_rate"] = dataclasses.replace(rate, value=rate.value * 3)
        return columns

    monkeypatch.setattr(transforms, "signal_columns", out_of_range)
    as_of = START + timedelta(days=20)
    assert job.run(spark, settings, as_of) == job.EXIT_GATE_FAILED
    assert "FAILED" in capsys.readouterr().err
    for dataset in CURATED_DATASETS:
        assert not lake.exists(layout.curated_manifest_ref(lake, dataset, as_of))
        prefix = f"curated/{layout.curated_prefix(dataset, as_of)}/"
        assert list(lake.list_keys(lake.settings.lake_bucket, prefix)) == []
    gate = lake.get_json(layout.validation_result_ref(lake, "candidate_signals", as_of.isoformat()))
    assert gate["success"] is False
    assert any(f["type"] == "expect_column_values_to_be_between" for f in gate["failures"])
