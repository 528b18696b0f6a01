"""Incremental signal state on tiny hand-built histories: merging day by day equals rebuilding, exactly."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hiring_signals.ingest import parquet_bytes
from spark_jobs.candidate_signals import state as st
from spark_jobs.candidate_signals import transforms as t
from spark_jobs.candidate_signals.job import COMMIT_ORDER, to_table
from spark_jobs.session import run_concurrently
from tests.raw_rows import ADA, BEN, CARA, T0, at, iso
from tests.raw_rows import ev as raw_row

pytestmark = pytest.mark.spark


def ev(*args, **kwargs) -> dict:
    """A raw row in an hourly batch (these histories land several batches a day)."""
    return raw_row(*args, batch_format="%Y%m%dT%H", **kwargs)


def end_of(day: int) -> datetime:
    return at(day + 1)


def read_on(row: dict) -> int:
    """The as-of day whose run first reads the row's batch: API batches ingested at the end of day D are read
    as of D; recruiter drops received during day D+1 are read as of D too (the job reads a day ahead)."""
    return (row["ingested_at"].date() - T0.date()).days - 1


# Collected concurrently, as the job writes them: each collect is a small Spark query whose cost is latency.
def dataset_bytes(state: st.SignalState, day: int) -> dict[str, bytes]:
    datasets = st.datasets_from_state(state, T0.date() + timedelta(days=day), end_of(day))
    return run_concurrently(lambda name: parquet_bytes(to_table(datasets[name], name)), COMMIT_ORDER)


def state_tables(state: st.SignalState) -> dict:
    return run_concurrently(lambda name: st.state_table(state.tables[name], name), st.TABLES)


def history() -> list[dict]:
    eng, employer = "marketplace:eng_1", "marketplace:emp_1"
    kw = {"engagement": eng, "employer": employer}
    d1_due = at(3, 17)
    return [
        ev("post", "engagement.posted", at(0, 9), candidate=None, engagement=eng, employer=employer,
           payload={"title": "Churn analysis", "category": "data-analysis", "skills": ["Python", "SQL"]}),
        ev("start", "engagement.started", at(1, 9), **kw),
        ev("sub1", "deliverable.submitted", at(4, 9), **kw, payload={
            "deliverable_id": "d1", "due_at": iso(d1_due), "submitted_at": iso(at(4, 9)), "submission_round": 1}),
        ev("rev1", "deliverable.reviewed", at(4, 12), **kw,
           payload={"deliverable_id": "d1", "outcome": "approved", "review_round": 1}),
        ev("done", "engagement.completed", at(5, 15), **kw),
        # cross-day redelivery: served again (changed payload) in day 4's batch; the first delivery wins
        ev("out1", "outcome.measured", at(2, 10), **kw,
           payload={"deliverable_id": "d1", "metric": "churn", "baseline": 10.0, "result": 5.0}),
        ev("out1", "outcome.measured", at(2, 10), **kw, ingested=end_of(4),
           payload={"deliverable_id": "d1", "metric": "churn", "baseline": 10.0, "result": 9.0}),
        # late feedback: occurred on day 2, ingested at the end of day 5
        ev("fb-late", "feedback.recorded", at(2, 11), ingested=end_of(5), **kw, payload={
            "rubric_id": "r", "rubric_version": 2, "would_rehire": True,
            "scores": {"quality": 5, "communication": 4, "timeliness": 5, "skill_fit": 4}}),
        # feedback on an old engagement, much later
        ev("fb-old", "feedback.recorded", at(7, 8), **kw, payload={
            "rubric_id": "r", "rubric_version": 2, "would_rehire": False,
            "scores": {"quality": 3, "communication": 3, "timeliness": 2, "skill_fit": 3}}),
        # a credential revoked on day 4, learned on day 5
        ev("iss", "credential.issued", at(0, 12), candidate=CARA, payload={
            "credential_id": "c1", "valid_from": iso(at(0)), "verification_result": "verified",
            "skills": ["python"]}),
        ev("rvk", "credential.status_changed", at(4, 20), ingested=end_of(5), candidate=CARA,
           payload={"credential_id": "c1", "status": "revoked", "verification_result": "verified"}),
        # a new employer posts on day 6 and Ben starts there on day 7
        ev("post2", "engagement.posted", at(6, 9), candidate=None, engagement="marketplace:eng_2",
           employer="marketplace:emp_2", payload={"title": "Dashboards", "category": "bi", "skills": ["SQL"]}),
        ev("start2", "engagement.started", at(7, 10), candidate=BEN, engagement="marketplace:eng_2",
           employer="marketplace:emp_2"),
        # known only once it has occurred: ingested at the end of day 2, occurring on day 4
        ev("sched", "candidate.profile_updated", at(4, 6), ingested=end_of(2), candidate=BEN),
        # a recruiter drop received mid-day 7: read as of day 6 (ahead), known as of day 7
        ev("drop1", "placement.started", at(6, 9), ingested=at(7, 13), candidate=BEN,
           engagement="recruiter:acme:p1", source="recruiter", payload={"placement_id": "p1"}),
        # activity leaving the 90-day window while the history runs (pruned from the state)
        ev("old-act", "candidate.profile_updated", at(-87), ingested=end_of(0), candidate=CARA),
        ev("older-act", "application.submitted", at(-120), ingested=end_of(0), candidate=CARA,
           engagement="marketplace:app_1", payload={"application_id": "a1", "invited_at": iso(at(-121))}),
        ev("invited", "application.submitted", at(3, 12), candidate=BEN, engagement="marketplace:app_2",
           payload={"application_id": "a2", "invited_at": iso(at(3, 2))}),
        ev("ref", "referral.made", at(3, 13), candidate=ADA, payload={"referred_candidate_ref": BEN}),
        ev("offer", "offer.extended", at(6, 10), candidate=ADA, employer=employer,
           payload={"offer_id": "o1", "is_conversion": True}),
    ]


def test_state_folds_in_two_parts_equal_one(frame):
    """fold(A + B) == merge(fold(A), fold(B)) for every entity table, whatever the split."""
    events = t.dedupe_events(frame(history()))
    names = sorted({r["event_id"] for r in history()})
    first = events.where(events.event_id.isin(names[::2]))
    second = events.where(~events.event_id.isin(names[::2]))
    end = end_of(7)
    whole = t.entity_state(events, end)
    merged = t.merge_entity_state(t.entity_state(first, end), t.entity_state(second, end), end)
    for name in t.STATE_FOLDS:
        assert st.state_table(merged[name], name).equals(st.state_table(whole[name], name)), name


def test_incremental_day_by_day_equals_full_rebuild(spark, frame):
    rows = history()
    days = range(0, 8)  # the last event becomes known as of day 7
    previous = None
    for day in days:
        read = frame([r for r in rows if read_on(r) <= day])
        full = st.build_state(read, end_of(day)).cache()
        if previous is None:
            incremental = full
        else:
            delta = frame([r for r in rows if read_on(r) == day])
            incremental = st.merge_state(previous, delta, end_of(day)).cache()
        assert dataset_bytes(incremental, day) == dataset_bytes(full, day), f"datasets as of day {day}"
        full_tables, incremental_tables = state_tables(full), state_tables(incremental)
        for name in st.TABLES:
            assert incremental_tables[name].equals(full_tables[name]), f"state table {name} as of day {day}"
        # what the next night reads back (the job persists it), with a fresh plan
        previous = st.state_from_tables(spark, incremental_tables, end_of(day), incremental.delta)

    last = previous
    assert last.delta["mode"] == "incremental"
    activity = {r["candidate_ref"] for r in state_tables(last)["activity"].to_pylist()}
    assert CARA not in activity  # both old activities fell out of the window and were pruned


def test_merge_reports_redeliveries_and_keeps_not_yet_known_rows_pending(spark, frame):
    rows = history()
    built = st.build_state(frame([r for r in rows if read_on(r) <= 3]), end_of(3))
    day3 = st.state_from_tables(spark, state_tables(built), end_of(3))
    pending = sorted(r["event_id"] for r in state_tables(day3)["pending"].to_pylist())
    assert pending == ["sched"]  # ingested by day 3, occurring on day 4
    day4 = st.merge_state(day3, frame([r for r in rows if read_on(r) == 4]), end_of(4))
    # day 4 read: sub1, rev1, the out1 redelivery; sched (pending) became known
    assert day4.delta["redeliveries_dropped"] == 1
    assert day4.delta["newly_known_rows"] == 4 and day4.delta["new_events"] == 3
    kept = [r for r in state_tables(day4)["keys"].to_pylist() if r["event_id"] == "out1"]
    assert [r["ingested_at"] for r in kept] == [end_of(2)]


def test_a_late_known_earlier_delivery_is_a_conflict_not_a_silent_difference(frame):
    """Delivery A (ingested day 1, occurring day 5) wins a rebuild from day 5 on; delivery B (ingested day 2,
    occurring day 1) was the only known one before. A merge cannot retract B: it must refuse."""
    a = ev("x", "candidate.profile_updated", at(5, 1), ingested=end_of(1), candidate=BEN, batch="early")
    b = ev("x", "candidate.profile_updated", at(1, 1), ingested=end_of(2), candidate=BEN, batch="late")
    day2 = st.build_state(frame([a, b]), end_of(2)).cache()
    assert [r["batch_id"] for r in state_tables(day2)["keys"].to_pylist()] == ["late"]
    with pytest.raises(st.DedupeConflict, match="marketplace/x"):
        st.merge_state(day2, frame([]), end_of(5))
    rebuilt = st.build_state(frame([a, b]), end_of(5))
    assert [r["batch_id"] for r in state_tables(rebuilt)["keys"].to_pylist()] == ["early"]


def test_merge_refuses_an_earlier_as_of_and_datasets_a_different_one(frame):
    day5 = st.build_state(frame(history()[:3]), end_of(5))
    with pytest.raises(ValueError, match="earlier"):
        st.merge_state(day5, frame(history()[:1]), end_of(4))
    with pytest.raises(ValueError, match="not"):
        st.datasets_from_state(day5, date(2026, 5, 7), end_of(6))
