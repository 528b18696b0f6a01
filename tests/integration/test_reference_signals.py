"""The scale benchmark's DuckDB reference stays equal to the Spark signal job, on a generated population.

benchmarks/reference_signals.py restates every signal rule in SQL; when a signal changes in
spark_jobs/candidate_signals/transforms.py without the reference following (or the other way round), this
fails with the signals and candidates that differ. It also pins what the benchmark's generator must produce
for the comparison to mean anything: every event type the signals read, late events, cross-day redeliveries.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

# benchmarks/ is run from the repository root (`python -m benchmarks`), not installed with the package
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import reference_signals as ref
from benchmarks.scale_events import AS_OF_DATE, generate_cached, generate_table
from benchmarks.spark_side import candidate_signals_table
from hiring_signals.contract.curated_schema import SIGNAL_NAMES
from spark_jobs.candidate_signals.transforms import SignalParams

pytestmark = pytest.mark.spark

EVENTS = 20_000
SIGNAL_INPUT_TYPES = {
    "engagement.posted", "application.submitted", "application.decided", "engagement.started",
    "engagement.completed", "engagement.cancelled", "deliverable.submitted", "deliverable.reviewed",
    "feedback.recorded", "outcome.measured", "credential.issued", "credential.status_changed", "offer.extended",
    "offer.accepted", "referral.made", "placement.started", "placement.fell_off", "candidate.profile_updated",
}


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generate_cached(tmp_path_factory.mktemp("bench-home"), EVENTS, seed=11)


def test_generator_is_exact_deterministic_and_covers_what_the_signals_read(generated):
    table = generate_table(EVENTS, seed=11)
    assert table.num_rows == EVENTS == generated.rows
    assert table.equals(generate_table(EVENTS, seed=11))
    assert not table.equals(generate_table(EVENTS, seed=12))
    assert SIGNAL_INPUT_TYPES <= set(pc.unique(table.column("event_type")).to_pylist())
    assert set(pc.unique(table.column("source")).to_pylist()) == {"marketplace", "gig", "recruiter"}
    candidates = pc.count_distinct(table.column("candidate_ref")).as_py()
    assert EVENTS / 60 < candidates < EVENTS / 25
    # late events: ingested more than a day after they occurred
    lag = pc.subtract(pc.cast(table.column("ingested_at"), pa.int64()), pc.cast(table.column("occurred_at"), pa.int64()))
    assert pc.sum(pc.greater(lag, 2 * 86_400_000_000)).as_py() > EVENTS * 0.01
    # cross-day redeliveries: the same (source, event_id) in batches of different days
    keys = table.group_by(["source", "event_id"]).aggregate([("batch_id", "count_distinct")])
    assert pc.sum(pc.greater(keys.column("batch_id_count_distinct"), 1)).as_py() > 0
    # one partition per ingest day, every row in the partition of the day its batch covers
    for day in generated.days[:3]:
        part = pq.read_table(generated.files([day])[0])
        assert set(pc.utf8_slice_codeunits(part.column("batch_id"), -10, 100).to_pylist()) == {day.isoformat()}


@pytest.mark.parametrize("as_of_date", [AS_OF_DATE, date(2026, 4, 15)], ids=["last-day", "mid-history"])
def test_reference_equals_the_spark_job_on_every_signal(generated, spark, as_of_date):
    params = SignalParams(half_life_days=90.0)
    as_of_end = end_of(as_of_date)
    spark_table = candidate_signals_table(spark, generated.files(), as_of_date, as_of_end, params)
    reference = ref.reference_signals(ref.connect(threads=2), generated.files(), as_of_end, params)

    comparison = ref.compare_signals(spark_table, reference)

    assert comparison.rows == spark_table.num_rows == comparison.candidates * len(SIGNAL_NAMES)
    assert comparison.candidates > 200
    # not vacuous: every signal has values, and all but the rarest are positive for several candidates
    per_signal = reference.group_by("signal").aggregate([("value", "count"), ("evidence_count", "max")])
    values = dict(zip(per_signal.column("signal").to_pylist(), per_signal.column("value_count").to_pylist()))
    evidence = dict(zip(per_signal.column("signal").to_pylist(), per_signal.column("evidence_count_max").to_pylist()))
    assert set(values) == set(SIGNAL_NAMES)
    assert all(n > 0 for n in values.values()), values
    assert all(e > 0 for e in evidence.values()), evidence


def test_comparison_fails_loudly_with_examples(generated):
    reference = ref.reference_signals(ref.connect(threads=2), generated.files(), end_of(AS_OF_DATE))
    rows = reference.sort_by([("candidate_ref", "ascending"), ("signal", "ascending")])
    value = rows.column("value").to_pylist()
    evidence = rows.column("evidence_count").to_pylist()
    score = rows.column("signal").to_pylist().index("signal_score")
    value[score] = value[score] * (1 + 1e-7)
    evidence[score + 1] += 1
    changed = rows.set_column(2, "value", pa.array(value, pa.float64())).set_column(
        3, "evidence_count", pa.array(evidence, pa.int64())).slice(1)  # and the first row missing

    with pytest.raises(ref.SignalMismatch) as failure:
        ref.compare_signals(changed, rows)
    message = str(failure.value)
    assert "3 row(s)" in message
    assert "value differs for signal_score" in message
    assert "evidence differs" in message and "missing in Spark" in message
    assert rows.column("candidate_ref")[score].as_py() in message
    # within tolerance: equal
    assert ref.compare_signals(rows, rows).max_relative_difference == 0.0
