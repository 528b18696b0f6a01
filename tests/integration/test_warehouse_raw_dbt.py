"""The event-level warehouse end to end, on DuckDB and on PostgreSQL: raw batches -> Spark's curated snapshot ->
both loaded -> `dbt build` -> staging per source, intermediate, marts; values checked by hand.

One small story over three sources (marketplace, gig, recruiter drops) with a redelivery across batches, an
event learned after the snapshot's knowledge time, a cancellation contradicted by a later completion, a late and
a resubmitted deliverable, an incomplete review and credentials that are active, revoked, expired at the
as-of instant and unverified. The curated snapshot is computed from the same raw rows by the real signal
transforms (local Spark), so the dbt cross-check tests compare SQL with Spark for real; the hand-computed
numbers below are what both must produce.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone

import pyarrow as pa
import pytest

from hiring_signals.config import WarehouseSettings
from hiring_signals.contract.raw_schema import raw_event_arrow_schema, raw_event_column_names, raw_event_spark_ddl
from hiring_signals.warehouse import (
    DbtBuildFailed,
    RawBatch,
    WarehouseLoadError,
    load_curated_snapshot,
    load_raw_batches,
    query,
    run_dbt,
)
from hiring_signals.warehouse.loader import content_sha256, query_dicts, raw_batch_sha256
from tests.raw_rows import ADA, BEN, CARA, DAN, at, iso
from tests.raw_rows import ev as raw_row
from tests.warehouse_targets import WAREHOUSE_TARGETS, open_warehouse

pytestmark = pytest.mark.spark

AS_OF = date(2026, 5, 10)
AS_OF_END = datetime(2026, 5, 11, tzinfo=timezone.utc)
MKT1 = "marketplace/20260501T000000Z_20260506T000000Z"
MKT2 = "marketplace/20260506T000000Z_20260511T000000Z"
GIG1 = "gig/20260501T000000Z_20260511T000000Z"
DROP1 = "recruiter/agency_a__placements_0508__0123456789"
DROP2 = "recruiter/agency_a__placements_0511__abcdef0123"  # received after the as-of end: read, then cut
INGESTED = {MKT1: datetime(2026, 5, 6, tzinfo=timezone.utc), MKT2: AS_OF_END, GIG1: AS_OF_END,
            DROP1: datetime(2026, 5, 8, 9, tzinfo=timezone.utc), DROP2: datetime(2026, 5, 11, 6, tzinfo=timezone.utc)}
EMP1, EMP2, CLIENT, ACME = "marketplace:emp_1", "marketplace:emp_2", "gig:cl_1", "agency_a:acme"
M1, M2, M3, CT1, CT2, P1, P2 = ("marketplace:m1", "marketplace:m2", "marketplace:m3", "gig:ct_1", "gig:ct_2",
                                "agency_a:p1", "agency_a:p2")


def ev(batch: str, event_id: str, event_type: str, occurred: datetime, candidate: str | None = None,
       engagement: str | None = None, employer: str | None = None, **payload) -> dict:
    """A raw row of `batch` (tests/raw_rows.py), ingested when its batch was."""
    source = batch.split("/")[0]
    return raw_row(event_id, event_type, occurred, ingested=INGESTED[batch], candidate=candidate,
                   engagement=engagement, employer=employer, payload=payload, source=source, batch=batch,
                   tenant="agency_a" if source == "recruiter" else "t1")


def scores(q, c, t, s=None) -> dict:
    out = {"quality": q, "communication": c, "timeliness": t}
    return out if s is None else {**out, "skill_fit": s}


def raw_events() -> list[dict]:
    m1 = {"engagement": M1, "employer": EMP1}
    m2 = {"engagement": M2, "employer": EMP2}
    gig = {"engagement": CT1, "employer": CLIENT}
    completed_m1 = dict(event_id="m1-done", event_type="engagement.completed", occurred=at(9, 10), candidate=ADA, **m1)
    return [
        # --- marketplace, batch 1 (ingested 05-06) ---
        ev(MKT1, "m1-post", "engagement.posted", at(0, 9), title="Churn", skills=["SQL"], duration_weeks=2,
           deliverables=[], **m1),
        ev(MKT1, "m1-app-ada", "application.submitted", at(1, 9), ADA, application_id="a1", **m1),
        ev(MKT1, "m1-app-ben", "application.submitted", at(1, 10), BEN, application_id="a2", **m1),
        ev(MKT1, "m1-start", "engagement.started", at(2, 9), ADA, **m1),
        ev(MKT1, "m2-post", "engagement.posted", at(3, 9), title="Dashboards", skills=[], duration_weeks=1,
           deliverables=[], **m2),
        ev(MKT1, "m2-app-ben", "application.submitted", at(3, 12), BEN, application_id="a3", **m2),
        ev(MKT1, "m2-start", "engagement.started", at(4, 9), BEN, **m2),
        ev(MKT1, "m3-post", "engagement.posted", at(4, 10), title="Nobody applies", skills=[], duration_weeks=1,
           deliverables=[], engagement=M3, employer=EMP2),
        ev(MKT1, "cred-c1", "credential.issued", at(1), ADA, credential_id="c1", issuer="Acme Academy",
           achievement="SQL", skills=["SQL"], valid_from=iso(at(1)), valid_until="2027-05-01T00:00:00Z",
           proof_type="DataIntegrityProof", verification_result="verified"),
        ev(MKT1, "cred-c2", "credential.issued", at(2), ADA, credential_id="c2", issuer="Acme Academy",
           achievement="Python", skills=["Python"], valid_from=iso(at(2)), valid_until=None,
           proof_type="DataIntegrityProof", verification_result="verified"),
        ev(MKT1, "cred-c3", "credential.issued", at(1), BEN, credential_id="c3", issuer="Beta Org",
           achievement="Excel", skills=[], valid_from=iso(at(0)), valid_until=iso(AS_OF_END),  # expires at the cut
           proof_type="DataIntegrityProof", verification_result="verified"),
        ev(MKT1, "cred-c4", "credential.issued", at(3), CARA, credential_id="c4", issuer="Gamma",
           achievement="R", skills=[], valid_from=iso(at(3)), valid_until=None, proof_type="DataIntegrityProof",
           verification_result="failed"),
        # --- marketplace, batch 2 (ingested 05-11 = the as-of end) ---
        ev(MKT2, "m1-d1-sub", "deliverable.submitted", at(5, 17), ADA, deliverable_id="d1", due_at=iso(at(5, 17)),
           submitted_at=iso(at(5, 17)), submission_round=1, **m1),  # exactly at the due time: on time
        ev(MKT2, "m1-d1-rev", "deliverable.reviewed", at(5, 20), ADA, deliverable_id="d1", outcome="approved",
           review_round=1, **m1),
        ev(MKT2, "m1-d2-sub", "deliverable.submitted", at(6, 12), ADA, deliverable_id="d2", due_at=iso(at(6, 17)),
           submitted_at=iso(at(6, 12)), submission_round=1, **m1),
        ev(MKT2, "m1-d2-rev1", "deliverable.reviewed", at(7, 9), ADA, deliverable_id="d2",
           outcome="changes_requested", review_round=1, **m1),
        ev(MKT2, "m1-d2-sub2", "deliverable.submitted", at(8, 12), ADA, deliverable_id="d2", due_at=iso(at(6, 17)),
           submitted_at=iso(at(8, 12)), submission_round=2, **m1),  # resubmission after the due date: not late
        ev(MKT2, "m1-d2-rev2", "deliverable.reviewed", at(8, 15), ADA, deliverable_id="d2", outcome="approved",
           review_round=2, **m1),
        ev(MKT2, **completed_m1),
        ev(MKT2, "m1-fb", "feedback.recorded", at(9, 12), ADA, rubric_id="mkt", rubric_version=2, would_rehire=True,
           scores=scores(4, 4, 4, 3), **m1),
        ev(MKT2, "m1-offer", "offer.extended", at(9, 14), ADA, offer_id="ofr_1", employment_type="full_time",
           is_conversion=True, **m1),
        ev(MKT2, "m2-d1-sub", "deliverable.submitted", at(5, 12), BEN, deliverable_id="d1", due_at=iso(at(5)),
           submitted_at=iso(at(5, 12)), submission_round=1, **m2),  # half a day late
        ev(MKT2, "m2-d1-rev", "deliverable.reviewed", at(6), BEN, deliverable_id="d1", outcome="rejected",
           review_round=1, **m2),
        ev(MKT2, "m2-cancel", "engagement.cancelled", at(7), BEN, cancelled_by="candidate", **m2),
        ev(MKT2, "m2-done", "engagement.completed", at(8), BEN, **m2),  # after the cancellation: ignored
        ev(MKT2, "m2-fb", "feedback.recorded", at(7, 6), BEN, rubric_id="mkt", rubric_version=2,
           would_rehire=False, scores=scores(3, 3, 2), **m2),  # no skill_fit: incomplete
        ev(MKT2, "cred-c2-revoked", "credential.status_changed", at(6), ADA, credential_id="c2", status="revoked"),
        # --- gig (contract offers, no postings) ---
        ev(GIG1, "contract:ct_1:r1", "application.decided", at(2), ADA, application_id="ct_1", decision="selected",
           title="Data clean-up", **gig),
        ev(GIG1, "contract:ct_1:r2", "engagement.started", at(3), ADA, **gig),
        ev(GIG1, "milestone:ms_1:r1", "deliverable.submitted", at(4), ADA, deliverable_id="ms_1",
           due_at=iso(at(5)), submitted_at=iso(at(4)), **gig),
        ev(GIG1, "milestone:ms_1:r2", "deliverable.reviewed", at(4, 12), ADA, deliverable_id="ms_1",
           outcome="approved", review_round=1, **gig),
        ev(GIG1, "contract:ct_2:r1", "application.decided", at(2, 6), CARA, application_id="ct_2",
           decision="selected", title="Survey", engagement=CT2, employer=CLIENT),
        # --- recruiter drops ---
        ev(DROP1, "agency_a:p1:submitted", "placement.submitted", at(3), DAN, P1, ACME, placement_id="p1",
           recruiter="r", client="Acme"),
        ev(DROP1, "agency_a:p1:offered", "placement.offered", at(6), DAN, P1, ACME, placement_id="p1", client="Acme"),
        ev(DROP1, "agency_a:p1:started", "placement.started", at(7), DAN, P1, ACME, placement_id="p1",
           client="Acme", guarantee_days=90),
        ev(DROP1, "agency_a:p2:submitted", "placement.submitted", at(5), ADA, P2, ACME, placement_id="p2",
           recruiter="r", client="Acme"),
        # the same ADA completion served again by the marketplace in a later drop-day batch would be a
        # redelivery; here the recruiter's second file is received after the cut: its offer occurred before
        # the as-of end but was not known by then
        ev(DROP2, "agency_a:p2:offered", "placement.offered", at(9, 12), ADA, P2, ACME, placement_id="p2",
           client="Acme"),
    ]


MKT3 = "marketplace/20260511T000000Z_20260512T000000Z"
INGESTED[MKT3] = datetime(2026, 5, 12, tzinfo=timezone.utc)


def redeliveries() -> list[dict]:
    """Events the marketplace served again in a later batch: ADA's start (within the cut: the first delivery
    must win) and ADA's completion (in a batch ingested after the cut: never known as of AS_OF)."""
    by_id = {r["event_id"]: r for r in raw_events()}
    return [{**by_id["m1-start"], "batch_id": MKT2, "ingested_at": INGESTED[MKT2]},
            {**by_id["m1-done"], "batch_id": MKT3, "ingested_at": INGESTED[MKT3]}]


def all_raw_rows() -> list[dict]:
    # MKT3 ends after the as-of end, so a real snapshot would not even read it; it is listed here to prove
    # that the knowledge-time cut makes such a batch harmless
    return raw_events() + redeliveries()


def batch_tables(raw_rows: list[dict] | None = None) -> dict[str, pa.Table]:
    """One table per batch_id of `raw_rows` (default: the whole story)."""
    schema = raw_event_arrow_schema()
    out: dict[str, list[dict]] = {}
    for row in all_raw_rows() if raw_rows is None else raw_rows:
        out.setdefault(row["batch_id"], []).append(row)
    return {b: pa.Table.from_pylist(rows, schema=schema) for b, rows in sorted(out.items())}


def raw_batches(tables: dict[str, pa.Table], reads: list | None = None) -> list[RawBatch]:
    """One RawBatch per table, its hash standing in for the manifest's file hashes; `reads` records reads."""

    def reader(batch_id: str):
        def read() -> pa.Table:
            if reads is not None:
                reads.append(batch_id)
            return tables[batch_id]
        return read

    return [RawBatch(b, b.split("/")[0], raw_batch_sha256([content_sha256(t)]), reader(b)) for b, t in tables.items()]


def test_raw_batch_sha256_depends_on_the_committed_files_only():
    files = ["a" * 64, "b" * 64]
    digest = raw_batch_sha256(files)
    assert len(digest) == 64 and digest == raw_batch_sha256(reversed(files))  # manifest order does not matter
    assert raw_batch_sha256(files + ["c" * 64]) != digest and raw_batch_sha256(files[:1]) != digest
    with pytest.raises(WarehouseLoadError, match="lists no files"):
        raw_batch_sha256([])


# --------------------------------------------------------------------------------------------------------------
# The curated snapshot, computed by the signal job's transforms from the same raw rows
# --------------------------------------------------------------------------------------------------------------


def curated_snapshot(spark, raw_rows: list[dict]) -> dict[str, pa.Table]:
    """The curated datasets as of AS_OF that the signal job's transforms compute from `raw_rows`."""
    from spark_jobs.candidate_signals import transforms as t
    from spark_jobs.candidate_signals.job import build_datasets, to_table

    names = raw_event_column_names()
    frame = spark.createDataFrame([tuple(r.get(n) for n in names) for r in raw_rows], raw_event_spark_ddl())
    known = t.dedupe_events(t.known_as_of(frame, AS_OF_END))
    datasets = build_datasets(known, AS_OF, AS_OF_END)
    return {name: to_table(df, name) for name, df in datasets.items()}


@pytest.fixture(scope="module")
def curated(spark) -> dict[str, pa.Table]:
    return curated_snapshot(spark, all_raw_rows())


@pytest.fixture(scope="module", params=WAREHOUSE_TARGETS)
def warehouse(request, tmp_path_factory, curated):
    """(settings, build result, work dir) after loading the snapshot and its raw batches and one `dbt build`."""
    target = request.param
    work = tmp_path_factory.mktemp(f"whraw_{target}")
    with open_warehouse(target, work, "hs_raw", duckdb_schema="hiring_signals") as settings:
        ws = settings.warehouse
        for dataset, table in curated.items():
            load_curated_snapshot(ws, dataset, AS_OF, table)
        load_raw_batches(ws, AS_OF, raw_batches(batch_tables()))
        started = time.monotonic()
        result = run_dbt(["build"], ws, log_dir=work / "dbt")
        print(f"\n[{target}] dbt build over raw + curated: {time.monotonic() - started:.1f}s; {result.summary()}")
        yield ws, result, work


def rows(ws: WarehouseSettings, relation: str, columns: str, order: str, schema: str | None = None) -> list[tuple]:
    return query(ws, f'SELECT {columns} FROM "{schema or ws.schema}"."{relation}" ORDER BY {order}')


def marts(ws: WarehouseSettings) -> dict[str, list[tuple]]:
    names = sorted(r[0] for r in query(ws, "SELECT table_name FROM information_schema.tables "
                                           f"WHERE table_schema = '{ws.schema}'"))
    out = {}
    for name in names:
        cols = [r[0] for r in query(ws, "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 "
                                        "AND table_name = $2 ORDER BY ordinal_position", [ws.schema, name])]
        out[name] = rows(ws, name, "*", ", ".join(f'"{c}"' for c in cols))
    return out


# --------------------------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------------------------

NEW_MARTS = {"dim_employers", "fct_deliverables", "fct_feedback", "fct_credentials", "mart_source_funnel"}
CROSS_CHECKS = {"snapshot_raw_batches_are_loaded", "engagement_lifecycle_agrees_with_curated_engagements",
                "deliverable_counts_agree_with_curated_engagements", "feedback_agrees_with_curated_engagements",
                "active_credentials_agree_with_signal", "candidate_identity_agrees_with_curated_candidates"}


def test_build_passes_every_test_including_the_spark_cross_checks(warehouse):
    ws, result, _ = warehouse
    assert result.success and not result.failed_nodes
    models = {n.name for n in result.nodes if n.resource_type == "model"}
    assert NEW_MARTS | {"stg_marketplace__events", "stg_gig__events", "stg_recruiter__events",
                        "int_events_deduplicated", "int_candidate_identity", "int_engagement_lifecycle"} <= models
    statuses = {n.name: n.status for n in result.nodes}
    assert {name: statuses.get(name) for name in CROSS_CHECKS} == dict.fromkeys(CROSS_CHECKS, "pass")
    units = {n.name for n in result.nodes if n.resource_type == "unit_test"}
    assert {"dedup_keeps_first_ingested_delivery_within_the_knowledge_cut", "lifecycle_first_terminal_event_wins",
            "deliverables_judged_on_first_submission", "funnel_counts_and_step_conversions",
            "credentials_active_as_of_the_cut"} <= units


def test_dedup_and_knowledge_cut(warehouse):
    ws, _, _ = warehouse
    events = rows(ws, "int_events_deduplicated", "source, event_id, batch_id", "source, event_id",
                  schema=f"{ws.schema}_intermediate")
    ids = [(s, e) for s, e, _ in events]
    assert len(ids) == len(set(ids)) == len(raw_events()) - 1  # DROP2's offer is past the cut
    assert ("recruiter", "agency_a:p2:offered") not in ids
    kept = {(s, e): b for s, e, b in events}
    assert kept[("marketplace", "m1-start")] == MKT1  # the earliest ingested delivery wins
    assert kept[("marketplace", "m1-done")] == MKT2  # the redelivery in MKT3 is past the cut
    staged = rows(ws, "stg_marketplace__events", "count(*)", "1", schema=f"{ws.schema}_staging")
    assert staged == [(len([r for r in all_raw_rows() if r["source"] == "marketplace"]),)]


def test_candidate_identity(warehouse):
    ws, _, _ = warehouse
    assert rows(ws, "int_candidate_identity", "candidate_ref, sources, source_count, event_count", "candidate_ref",
                schema=f"{ws.schema}_intermediate") == [
        (ADA, "gig,marketplace,recruiter", 3, 19), (BEN, "marketplace", 1, 9), (CARA, "gig,marketplace", 2, 2),
        (DAN, "recruiter", 1, 3)]


def test_engagement_lifecycle(warehouse):
    ws, _, _ = warehouse
    got = rows(ws, "int_engagement_lifecycle",
               "engagement_ref, candidate_ref, status, cancelled_by, started_at, ended_at, applied_step_at, "
               "started_step_at, offer_step_at, posted_at, employer_ref", "engagement_ref, candidate_ref",
               schema=f"{ws.schema}_intermediate")
    assert got == [
        (P1, DAN, "not_started", None, None, None, at(3), at(7), at(6), None, ACME),
        (P2, ADA, "not_started", None, None, None, at(5), None, None, None, ACME),  # its offer came too late
        (CT1, ADA, "in_progress", None, at(3), None, at(2), at(3), None, None, CLIENT),
        (CT2, CARA, "not_started", None, None, None, at(2, 6), None, None, None, CLIENT),
        (M1, ADA, "completed", None, at(2, 9), at(9, 10), at(1, 9), at(2, 9), at(9, 14), at(0, 9), EMP1),
        (M1, BEN, "not_started", None, None, None, at(1, 10), None, None, at(0, 9), EMP1),
        # cancelled first, "completed" a day later: the first terminal event wins
        (M2, BEN, "cancelled", "candidate", at(4, 9), at(7), at(3, 12), at(4, 9), None, at(3, 9), EMP2),
    ]


def test_fct_deliverables(warehouse):
    ws, _, _ = warehouse
    got = rows(ws, "fct_deliverables",
               "engagement_ref, deliverable_id, candidate_ref, is_submitted, is_on_time, days_late, "
               "submission_count, first_submission_round, first_review_outcome, review_count, is_first_pass",
               "engagement_ref, deliverable_id")
    assert got == [
        (CT1, "ms_1", ADA, True, True, 0.0, 1, 1, "approved", 1, True),
        (M1, "d1", ADA, True, True, 0.0, 1, 1, "approved", 1, True),  # submitted at the due instant
        (M1, "d2", ADA, True, True, 0.0, 2, 1, "changes_requested", 2, False),  # the late resubmission is not judged
        (M2, "d1", BEN, True, False, 0.5, 1, 1, "rejected", 1, False),
    ]


def test_fct_feedback(warehouse):
    ws, _, _ = warehouse
    got = rows(ws, "fct_feedback", "event_id, candidate_ref, is_complete, score_quality, score_skill_fit, mean_score, "
                                   "would_rehire, rubric_id, rubric_version", "event_id")
    assert got == [("m1-fb", ADA, True, 4, 3, 3.75, True, "mkt", 2),
                   ("m2-fb", BEN, False, None, None, None, False, "mkt", 2)]


def test_fct_credentials(warehouse):
    ws, _, _ = warehouse
    got = rows(ws, "fct_credentials", "credential_id, candidate_ref, latest_status, is_within_validity, is_active",
               "credential_id")
    assert got == [("c1", ADA, "issued", True, True), ("c2", ADA, "revoked", True, False),
                   ("c3", BEN, "issued", False, False),  # valid_until == the as-of end: expired (half-open)
                   ("c4", CARA, "issued", True, False)]  # proof failed


def test_mart_source_funnel(warehouse):
    ws, _, _ = warehouse
    got = rows(ws, "mart_source_funnel",
               "source, as_of_date, engagements_posted, applied, started, completed, offered, posted_to_applied_rate, "
               "applied_to_started_rate, started_to_completed_rate, completed_to_offer_rate", "source")
    assert [r[:7] for r in got] == [("gig", AS_OF, 0, 2, 1, 0, 0), ("marketplace", AS_OF, 3, 3, 2, 1, 1),
                                    ("recruiter", AS_OF, 0, 2, 1, 0, 1)]
    rates = {r[0]: r[7:] for r in got}
    assert rates["marketplace"] == pytest.approx((2 / 3, 2 / 3, 0.5, 1.0))
    assert rates["gig"][0] is None and rates["gig"][1:3] == (0.5, 0.0) and rates["gig"][3] is None
    assert rates["recruiter"][0] is None and rates["recruiter"][1:3] == (0.5, 0.0) and rates["recruiter"][3] is None


def test_dim_employers(warehouse):
    ws, _, _ = warehouse
    got = rows(ws, "dim_employers",
               "employer_ref, source, engagements_posted, engagements_with_candidates, candidates, candidates_started, "
               "candidates_completed, candidates_cancelled, candidates_offered", "employer_ref")
    assert got == [(ACME, "recruiter", 0, 2, 2, 1, 0, 0, 1), (CLIENT, "gig", 0, 2, 2, 1, 0, 0, 0),
                   (EMP1, "marketplace", 1, 1, 2, 1, 1, 0, 1), (EMP2, "marketplace", 2, 1, 1, 1, 0, 1, 0)]


def test_marts_have_enforced_contracts_and_docs(warehouse):
    import yaml

    from hiring_signals.config import REPO_ROOT

    spec = yaml.safe_load((REPO_ROOT / "dbt_project" / "models" / "marts" / "_marts__models.yml").read_text())
    models = {m["name"]: m for m in spec["models"]}
    ws, _, _ = warehouse
    for name in NEW_MARTS:
        documented = [c["name"] for c in models[name]["columns"]]
        assert all(c.get("description") and c.get("data_type") for c in models[name]["columns"]), name
        cols = [r[0] for r in query(ws, "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 "
                                        "AND table_name = $2 ORDER BY ordinal_position", [ws.schema, name])]
        assert cols == documented, name


def test_raw_reload_skips_unchanged_batches_and_rerun_is_identical(warehouse, curated):
    ws, _, work = warehouse
    before = marts(ws)
    log_before = {r["batch_id"]: r for r in query_dicts(ws, f'SELECT * FROM "{ws.landing_schema}".raw_load_log')}
    reads: list[str] = []
    result = load_raw_batches(ws, AS_OF, raw_batches(batch_tables(), reads))
    assert reads == [] and result["skipped"] == len(log_before) and result["loaded"] == []
    log_after = {r["batch_id"]: r for r in query_dicts(ws, f'SELECT * FROM "{ws.landing_schema}".raw_load_log')}
    assert log_after == log_before  # skipped: not even the audit columns change

    # a changed batch (same id, new content) is re-read and replaced as a whole, in one transaction
    tables = batch_tables()
    original = tables[GIG1]
    tables[GIG1] = original.slice(0, original.num_rows - 1)
    result = load_raw_batches(ws, AS_OF, raw_batches(tables, reads))
    assert reads == [GIG1] and result["loaded"] == [GIG1] and result["rows_loaded"] == original.num_rows - 1
    counted = query(ws, f'SELECT count(*) FROM "{ws.landing_schema}".raw_events WHERE batch_id = $1', [GIG1])
    assert counted == [(original.num_rows - 1,)]

    # back to the original content and a rerun of the whole publish: every mart row-for-row identical
    load_raw_batches(ws, AS_OF, raw_batches(batch_tables()))
    for dataset, table in curated.items():
        load_curated_snapshot(ws, dataset, AS_OF, table)
    run_dbt(["build"], ws, log_dir=work / "dbt")
    assert marts(ws) == before
    assert NEW_MARTS <= set(before) and all(before[m] for m in NEW_MARTS)


def test_raw_loader_rejects_a_batch_that_is_not_what_it_claims(warehouse):
    ws, _, _ = warehouse
    tables = batch_tables()
    wrong = [RawBatch(GIG1, "gig", "0" * 64, lambda: tables[MKT1])]
    with pytest.raises(WarehouseLoadError, match=r"raw batch gig/.*rows with batch_id"):
        load_raw_batches(ws, AS_OF, wrong)
    payloads = tables[GIG1].column("payload").to_pylist()
    payloads[1] = json.dumps({"note": "reach me at Ada.Lovelace@example.org"})
    leaking = tables[GIG1].set_column(tables[GIG1].schema.get_field_index("payload"), "payload",
                                      pa.array(payloads, pa.string()))
    with pytest.raises(WarehouseLoadError, match=r"1 row\(s\) carry an email address in payload"):
        load_raw_batches(ws, AS_OF, [RawBatch(GIG1, "gig", "2" * 64, lambda: leaking)])
    missing_column = [RawBatch(GIG1, "gig", "1" * 64, lambda: tables[GIG1].drop_columns(["payload"]))]
    with pytest.raises(WarehouseLoadError, match=r"columns"):
        load_raw_batches(ws, AS_OF, missing_column)
    # nothing changed: the batch still holds its loaded rows
    assert query(ws, f'SELECT count(*) FROM "{ws.landing_schema}".raw_events WHERE batch_id = $1', [GIG1]) == [
        (tables[GIG1].num_rows,)]


def test_source_freshness_per_source(warehouse):
    ws, _, work = warehouse
    result = run_dbt(["source", "freshness"], ws, log_dir=work / "dbt")
    got = sorted((n.unique_id.split(".")[-2], n.name, n.status) for n in result.nodes)
    assert got == [("curated", "load_log", "pass"), ("gig", "load_log", "pass"),
                   ("marketplace", "load_log", "pass"), ("recruiter", "load_log", "pass")]


def test_docs_generate(warehouse):
    ws, _, work = warehouse
    result = run_dbt(["docs", "generate"], ws, log_dir=work / "dbt")
    assert result.success


FIRST_NIGHT_EVENT_TYPES = {"engagement.posted", "application.submitted", "application.decided", "credential.issued",
                           "placement.submitted", "placement.offered"}


def load_first_night(ws: WarehouseSettings, spark, event_types: set[str]) -> None:
    """The module's story cut to `event_types`, through the Spark transforms, loaded as the AS_OF snapshot."""
    night = [r for r in all_raw_rows() if r["event_type"] in event_types]
    for name, table in curated_snapshot(spark, night).items():
        load_curated_snapshot(ws, name, AS_OF, table)
    load_raw_batches(ws, AS_OF, raw_batches(batch_tables(night)))


def test_first_nights_without_engagement_starts_or_candidates_publish(warehouse, curated, spark):
    """A first snapshot that knows postings, applications, credentials and recruiter placements but no engagement
    start (seen in the e2e chain: recruiter drops triggered the signal job while the first API batches had only
    just landed) publishes, with an empty fct_engagements; one that knows postings alone publishes with every
    candidate mart empty. The same empty fct_engagements beside a known engagement.started fails the build.
    Each night runs the full build: every model, data test, unit test and Spark cross-check."""
    ws, _, work = warehouse
    candidate_marts = ("dim_candidates", "candidate_signal_feed", "fct_candidate_signals_daily")
    try:
        load_first_night(ws, spark, FIRST_NIGHT_EVENT_TYPES)
        result = run_dbt(["build"], ws, log_dir=work / "dbt")
        assert result.success and not result.failed_nodes
        assert rows(ws, "fct_engagements", "count(*)", "1") == [(0,)]
        assert all(rows(ws, m, "count(*)", "1")[0][0] > 0 for m in candidate_marts)

        # the evidence of a start is there, the mart is empty: a broken pipeline, whatever the night
        load_raw_batches(ws, AS_OF, raw_batches(batch_tables()))
        with pytest.raises(DbtBuildFailed) as info:
            run_dbt(["build", "--select", "int_events_deduplicated", "fct_engagements"], ws, log_dir=work / "dbt")
        failed = info.value.failed_names
        assert len(failed) == 1 and failed[0].startswith("at_least_one_row_fct_engagements"), failed

        load_first_night(ws, spark, {"engagement.posted"})
        result = run_dbt(["build", "--full-refresh"], ws, log_dir=work / "dbt")  # drop the earlier nights' history
        assert result.success and not result.failed_nodes
        assert all(rows(ws, m, "count(*)", "1") == [(0,)] for m in ("fct_engagements", *candidate_marts))
    finally:
        load_raw_batches(ws, AS_OF, raw_batches(batch_tables()))
        for dataset, table in curated.items():
            load_curated_snapshot(ws, dataset, AS_OF, table)


def test_cross_check_fails_when_sql_and_spark_disagree(warehouse, curated):
    """Runs last for its target: a curated snapshot that disagrees with the raw events fails the build."""
    import pyarrow.compute as pc

    ws, _, work = warehouse
    engagements = curated["engagements"]
    on_time = pc.add(engagements.column("deliverables_on_time"), 1)
    tampered = engagements.set_column(engagements.schema.get_field_index("deliverables_on_time"),
                                      engagements.schema.field("deliverables_on_time"), on_time)
    load_curated_snapshot(ws, "engagements", AS_OF, tampered)
    with pytest.raises(DbtBuildFailed) as info:
        run_dbt(["build"], ws, log_dir=work / "dbt")
    assert "deliverable_counts_agree_with_curated_engagements" in info.value.failed_names


# --------------------------------------------------------------------------------------------------------------
# Through the lake: pipeline.load_curated finds the snapshot's raw batches by their manifests
# --------------------------------------------------------------------------------------------------------------


def commit_to_lake(lake, curated_tables: dict[str, pa.Table], input_batches: list[str]) -> None:
    """The raw batches committed as the ingestion does (API intervals and drop files, GX gate included) and
    the curated snapshot committed with its manifest naming `input_batches`, as the signal job does."""
    from hiring_signals import drops
    from hiring_signals.ingest import commit_raw_batch, parquet_bytes
    from hiring_signals.storage import StagedFile, commit_batch, layout
    from hiring_signals.storage.batches import Interval

    for batch_id, table in batch_tables().items():
        source, key = batch_id.split("/")
        rows = table.to_pylist()
        if source == "recruiter":
            received = INGESTED[batch_id].date()
            prefix, ref = drops.raw_prefix(key, received), drops.manifest_ref(lake, key, received)
        else:
            interval = Interval.parse_key(key)
            prefix, ref = layout.raw_events_prefix(source, interval), layout.raw_manifest_ref(lake, source, interval)
        commit_raw_batch(lake, batch=batch_id, rows=rows, quarantined=[], data_prefix=prefix, manifest_ref=ref,
                         body={"zone": "raw", "kind": "events", "source": source, "batch_id": batch_id})
    for dataset, table in curated_tables.items():
        prefix = layout.curated_prefix(dataset, AS_OF)
        commit_batch(lake, manifest_ref=layout.curated_manifest_ref(lake, dataset, AS_OF),
                     files=[StagedFile("curated", prefix, "parquet", parquet_bytes(table), rows=table.num_rows)],
                     batch_prefixes=[("curated", prefix)],
                     body={"zone": "curated", "dataset": dataset, "as_of_date": AS_OF.isoformat(),
                           "inputs": {"batches": input_batches}})


def test_load_curated_loads_the_snapshot_and_exactly_its_raw_batches(settings, lake, curated):
    from hiring_signals.pipeline import load_curated
    from hiring_signals.storage import layout

    inputs = sorted(batch_tables())
    commit_to_lake(lake, curated, inputs[:-1])  # the snapshot read every batch but the last
    first = load_curated(settings, AS_OF)
    total = sum(t.num_rows for b, t in batch_tables().items() if b in inputs[:-1])
    assert first["raw_batches"] == {"batches": len(inputs) - 1, "skipped": 0, "rows_loaded": total}
    assert first["rows_loaded"] == {d: t.num_rows for d, t in curated.items()}
    ws = settings.warehouse
    landing = f'"{ws.landing_schema}"'
    assert query(ws, f"SELECT batch_id FROM {landing}.snapshot_raw_batches ORDER BY batch_id") == [
        (b,) for b in inputs[:-1]]
    assert query(ws, f"SELECT count(*) FROM {landing}.raw_events") == [(total,)]
    # the load log's hash is the manifest's: the sha256 of the committed files
    log = dict(query(ws, f"SELECT batch_id, content_sha256 FROM {landing}.raw_load_log"))
    manifest = lake.get_json(layout.raw_manifest_ref(lake, "gig", __import__(
        "hiring_signals.storage.batches", fromlist=["Interval"]).Interval.parse_key(GIG1.split("/")[1])))
    assert log[GIG1] == raw_batch_sha256(f["sha256"] for f in manifest["files"] if f["zone"] == "raw")

    again = load_curated(settings, AS_OF)  # nightly rerun: nothing new, nothing read
    assert again["raw_batches"] == {"batches": len(inputs) - 1, "skipped": len(inputs) - 1, "rows_loaded": 0}
    assert query(ws, f"SELECT count(*) FROM {landing}.raw_events") == [(total,)]


def test_load_curated_refuses_a_snapshot_whose_raw_batches_are_not_committed(settings, lake, curated):
    from hiring_signals.pipeline import load_curated

    commit_to_lake(lake, curated, sorted(batch_tables()) + ["gig/20260511T000000Z_20260512T000000Z"])
    with pytest.raises(WarehouseLoadError, match=r"1 raw batch\(es\) have no committed manifest: \['gig/2026"):
        load_curated(settings, AS_OF)
