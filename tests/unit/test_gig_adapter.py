"""The gig adapter: epoch ms -> RFC 3339, minor units -> amounts, v1 and v2 mapping to the same envelope,
deterministic event ids, bad entries quarantined with reason codes, and safe page-number pagination."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import orjson
import pytest

from hiring_signals.config import load_settings
from hiring_signals.contract import Normaliser, Reason, Rejection
from hiring_signals.identity import Pseudonymiser
from hiring_signals.simulators.gig import EXPECTED_REASON, MALFORMED_KINDS, generate, malform, render, serialise
from hiring_signals.sources import gig
from hiring_signals.sources.gig import GigConnector, GigMapper, PaginationDrift, epoch_ms, major_units, ms_to_rfc3339
from hiring_signals.sources.registry import api_source
from hiring_signals.storage import Interval

START, END = date(2026, 5, 1), date(2026, 6, 15)
KEY = b"unit-test-pseudonym-key-" + b"0" * 16
V1, V2 = GigMapper("1"), GigMapper("2")


@lru_cache(maxsize=1)
def population():
    return generate(5, START, END, candidates=500, employers=50)


def normaliser() -> Normaliser:
    return Normaliser("gig", "gig/test", datetime(END.year, END.month, END.day, tzinfo=timezone.utc),
                      Pseudonymiser(KEY))


PAYMENT_V2 = {
    "object": "payment", "id": "py_0001", "revision": 1, "status": "paid", "kind": "milestone",
    "contract_id": "ct_0001", "client_id": "cl_0001", "worker_id": "fl_0001", "region": "us",
    "milestone_id": "ms_0001", "worker_email": "  Ada.Lovelace@Example.COM ", "amount_minor_units": 123456,
    "currency": "USD", "hours": None, "paid_at": 1_780_000_000_123, "modified_at": 1_780_000_060_000,
}
PAYMENT_V1 = {  # the same entry as API v1 serves it
    **{k: v for k, v in PAYMENT_V2.items() if k not in ("worker_id", "worker_email", "amount_minor_units")},
    "freelancer_id": "fl_0001", "freelancer_email": "  Ada.Lovelace@Example.COM ", "amount_cents": 123456,
}


# -- conversions -----------------------------------------------------------------------------------------------

def test_epoch_milliseconds_become_rfc3339_utc_with_milliseconds():
    assert ms_to_rfc3339(0) == "1970-01-01T00:00:00.000Z"
    assert ms_to_rfc3339(1_780_000_000_123) == "2026-05-28T20:26:40.123Z"
    assert ms_to_rfc3339(1_777_593_600_000) == "2026-05-01T00:00:00.000Z"
    assert datetime.fromisoformat(ms_to_rfc3339(1_780_000_000_123)) == \
        datetime(2026, 5, 28, 20, 26, 40, 123_000, tzinfo=timezone.utc)
    # not integer milliseconds: handed on unchanged for the contract to reject
    for value in ("1780000000123", 1.78e12, True, None, 10**20):
        assert ms_to_rfc3339(value) is value


def test_interval_bounds_become_epoch_milliseconds():
    assert epoch_ms(datetime(2026, 5, 1, tzinfo=timezone.utc)) == 1_777_593_600_000
    assert epoch_ms(datetime(2026, 5, 1, 2, 0, 0, 5_999, tzinfo=timezone(timedelta(hours=2)))) == 1_777_593_600_005
    with pytest.raises(ValueError):
        epoch_ms(datetime(2026, 5, 1))


def test_minor_units_become_major_units_per_currency():
    assert major_units(123456, "USD") == 1234.56
    assert major_units(5, "EUR") == 0.05
    assert major_units(123456, "JPY") == 123456.0
    assert major_units(123456, "KWD") == 123.456
    assert major_units("1234.56", "USD") == "1234.56"
    assert major_units(True, "USD") is True


# -- mapping ---------------------------------------------------------------------------------------------------

def test_v1_and_v2_entries_map_to_the_same_envelope():
    envelope = V2.to_envelope(PAYMENT_V2)
    assert V1.to_envelope(PAYMENT_V1) == envelope == {
        "event_id": "payment:py_0001:r1",
        "event_type": "payment.settled.v1",
        "occurred_at": "2026-05-28T20:26:40.123Z",
        "source_updated_at": "2026-05-28T20:27:40.000Z",
        "source_tenant": "us",
        "candidate_email": "  Ada.Lovelace@Example.COM ",
        "employer_id": "cl_0001",
        "engagement_id": "ct_0001",
        "remote_id": "py_0001",
        "payload": {"payment_id": "py_0001", "amount": {"amount": 1234.56, "currency": "USD"},
                    "amount_minor_units": 123456, "kind": "milestone", "milestone_id": "ms_0001"},
    }
    row = normaliser().normalise(envelope)
    assert row["candidate_ref"] == Pseudonymiser(KEY).candidate_ref("ada.lovelace@example.com")
    assert row["employer_ref"] == "gig:cl_0001" and row["engagement_ref"] == "gig:ct_0001"
    assert orjson.loads(row["payload"])["amount"] == {"amount": 1234.56, "currency": "USD"}


def test_every_entry_of_a_population_maps_identically_in_both_versions_and_is_accepted():
    norm = normaliser()
    expected_type = {
        "contract.offered": "application.decided", "contract.active": "engagement.started",
        "milestone.submitted": "deliverable.submitted", "milestone.changes_requested": "deliverable.reviewed",
        "milestone.approved": "deliverable.reviewed", "review.published": "feedback.recorded",
        "payment.paid": "payment.settled",
    }
    by_type = Counter()
    for record, position in zip(population().records, population().positions):
        envelope = V2.to_envelope(record)
        assert V1.to_envelope(render(record, "1")) == envelope
        row = norm.normalise(envelope)
        assert not isinstance(row, Rejection), (row, record)
        state = f"{record['object']}.{record['status']}"
        if state == "contract.ended":
            assert row["event_type"] == ("engagement.completed" if record["end_reason"] == "completed"
                                         else "engagement.cancelled")
        else:
            assert row["event_type"] == expected_type[state]
        assert row["occurred_at"] <= row["source_updated_at"] < norm.ingested_at
        by_type[row["event_type"]] += position[3] == 0  # first deliveries (stats count states)
    stats = population().stats()["by_object_status"]
    assert by_type["deliverable.reviewed"] == stats["milestone.approved"] + stats["milestone.changes_requested"]
    assert by_type["engagement.completed"] + by_type["engagement.cancelled"] > 0
    assert by_type["engagement.completed"] + by_type["engagement.cancelled"] + by_type["engagement.started"] + \
        by_type["application.decided"] == sum(v for k, v in stats.items() if k.startswith("contract."))


def test_contract_end_reasons_say_who_cancelled():
    ended = [r for r in population().records if r["object"] == "contract" and r["status"] == "ended"]
    seen = {}
    for record in ended:
        envelope = V2.to_envelope(record)
        seen[record["end_reason"]] = (envelope["event_type"], envelope["payload"].get("cancelled_by"))
        if record["end_reason"] != "completed":
            assert envelope["payload"]["reason"] == record["end_note"]
    assert seen == {
        "completed": ("engagement.completed.v1", None),
        "cancelled_by_client": ("engagement.cancelled.v1", "employer"),
        "withdrawn_by_freelancer": ("engagement.cancelled.v1", "candidate"),
        "terminated_by_platform": ("engagement.cancelled.v1", "platform"),
    }


def test_stars_become_rubric_scores_and_free_text_stays_out():
    review = next(r for r in population().records if r["object"] == "review")
    envelope = V2.to_envelope(review)
    ratings = review["ratings"]
    assert envelope["event_type"] == "feedback.recorded.v1"
    assert envelope["payload"]["scores"] == {"quality": ratings["quality"], "communication": ratings["communication"],
                                             "timeliness": ratings["deadlines"], "skill_fit": ratings["expertise"]}
    assert envelope["payload"]["would_rehire"] is review["would_hire_again"]
    assert envelope["payload"]["other_ratings"] == {"cooperation": ratings["cooperation"]}
    row = normaliser().normalise(envelope)
    assert review["comment"] not in row["payload"] and "comment" not in orjson.loads(row["payload"])


def test_milestones_map_to_deliverables_with_due_dates_and_rounds():
    entries = [r for r in population().records if r["object"] == "milestone"]
    resubmitted = next(r for r in entries if r["status"] == "submitted" and r["submission_round"] == 2)
    payload = V2.to_envelope(resubmitted)["payload"]
    assert payload == {"deliverable_id": resubmitted["id"], "due_at": ms_to_rfc3339(resubmitted["due_at"]),
                       "submitted_at": ms_to_rfc3339(resubmitted["submitted_at"]), "submission_round": 2,
                       "artifact_url": resubmitted["attachment_url"]}
    changes = next(r for r in entries if r["status"] == "changes_requested")
    assert V2.to_envelope(changes)["payload"] == {"deliverable_id": changes["id"], "outcome": "changes_requested",
                                                  "review_round": 1}


def test_event_ids_are_stable_per_state_and_new_per_change():
    pop = population()
    ids_by_key = {}
    for record, (_, object_id, revision, seq) in zip(pop.records, pop.positions):
        event_id = V2.to_envelope(record)["event_id"]
        assert event_id == f"{record['object']}:{object_id}:r{revision}"
        assert ids_by_key.setdefault((object_id, revision), event_id) == event_id  # copies: same id
    assert len(set(ids_by_key.values())) == pop.stats()["distinct_states"]
    assert sum(1 for p in pop.positions if p[3] > 0) > 0
    milestone = next(r for r in pop.records if r["object"] == "milestone" and r["status"] == "approved")
    submitted = dict(milestone, revision=milestone["revision"] - 1, status="submitted", reviewed_at=None)
    assert V2.to_envelope(submitted)["event_id"] != V2.to_envelope(milestone)["event_id"]
    # the same state with a later modified_at (re-indexed) keeps its id
    assert V2.to_envelope(dict(milestone, modified_at=milestone["modified_at"] + 86_400_000))["event_id"] == \
        V2.to_envelope(milestone)["event_id"]


# -- bad entries -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_malformed_entries_are_quarantined_with_the_expected_reason(kind):
    norm = normaliser()
    samples = {}
    for record in population().records:
        samples.setdefault((record["object"], record["status"]), record)
    assert len(samples) == 8
    for (obj, status), record in samples.items():
        for version, mapper in (("1", V1), ("2", V2)):
            wire = orjson.loads(serialise(malform(record, kind), version))
            result = norm.normalise(mapper.to_envelope(wire))
            assert isinstance(result, Rejection), (kind, obj, status, version)
            assert result.reason == EXPECTED_REASON[kind], (kind, obj, status, result)
            assert result.detail


def test_entries_of_the_other_api_version_are_quarantined_not_mis_mapped():
    norm = normaliser()
    reasons = Counter()
    for record in population().records[:300]:
        result = norm.normalise(V1.to_envelope(record))  # a v2 entry through the v1 mapping
        assert isinstance(result, Rejection)
        reasons[result.reason] += 1
    assert set(reasons) == {Reason.MISSING_REQUIRED_FIELD}


def test_fields_a_newer_release_adds_are_kept_as_source_extras_and_free_text_is_not():
    norm = normaliser()
    review = next(r for r in population().records if r["object"] == "review")
    row = norm.normalise(V2.to_envelope(review))
    assert row["source_extras"] is None and review["comment"] not in str(row)
    for mapper, entry in ((V2, PAYMENT_V2), (V1, PAYMENT_V1)):
        newer = dict(entry, team_id="tm_42", payer={"email": "Billing@Client.example"})
        row = norm.normalise(mapper.to_envelope(newer))
        extras = orjson.loads(row["source_extras"])
        assert extras["team_id"] == "tm_42" and "@" not in row["source_extras"]
        assert set(extras) == {"team_id", "payer"}


def test_odd_shapes_never_raise():
    norm = normaliser()
    for odd in ([], "text", 3, None, {}, {"object": "contract"}, {"object": None, "status": 1, "id": 2, "revision": "x"},
                {"object": "contract", "status": "ended", "id": "ct_1", "revision": 3, "ended_at": 1_780_000_000_000,
                 "end_reason": None, "worker_email": "a@b.co", "client_id": "c"},
                {"object": "review", "status": "published", "id": "rv", "revision": 1, "ratings": "5 stars",
                 "created_at": 1_780_000_000_000, "contract_id": "ct", "worker_email": "a@b.co"},
                {"object": "Contract!", "status": "ACTIVE?", "id": "x", "revision": 1, "modified_at": 1_780_000_000_000}):
        result = norm.normalise(V2.to_envelope(odd))
        assert isinstance(result, Rejection) and result.reason in Reason.ALL, odd


# -- pulling ---------------------------------------------------------------------------------------------------

class FakeClient:
    """Answers like the API would, from a list of entries; `drift_on` changes the window mid-walk."""

    base_url = "http://gig.test"

    def __init__(self, entries, drift_on=None, short=False):
        self.entries, self.drift_on, self.short = entries, drift_on, short
        self.calls = []

    def get_json(self, path, params):
        self.calls.append((path, dict(params)))
        entries = list(self.entries)
        if self.drift_on is not None and params["page"] >= self.drift_on:
            entries.append({"object": "contract"})  # a new entry slid into the window
        per_page, page = params["per_page"], params["page"]
        total_pages = -(-len(entries) // per_page)
        data = entries[(page - 1) * per_page: page * per_page]
        if self.short and page == total_pages:
            data = data[:-1]
        body = {"api_version": "2", "page": page, "per_page": per_page, "total": len(entries),
                "total_pages": total_pages, "data": data}
        return body, orjson.dumps(body)


DAY1 = Interval(datetime(2026, 5, 3, tzinfo=timezone.utc), datetime(2026, 5, 4, tzinfo=timezone.utc))


def test_pages_are_walked_by_number_inside_a_closed_window():
    entries = [{"n": i} for i in range(23)]
    client = FakeClient(entries)
    pages = list(GigConnector(client, api_version="1", page_limit=10).pages(DAY1))
    assert [p.number for p in pages] == [1, 2, 3]
    assert [r for p in pages for r in p.records] == entries
    assert [c[0] for c in client.calls] == ["/api/v1/activity"] * 3
    assert client.calls[0][1] == {"modified_since": 1_777_766_400_000, "modified_until": 1_777_852_800_000,
                                  "per_page": 10, "page": 1}
    assert orjson.loads(pages[1].body)["data"] == entries[10:20]
    empty = list(GigConnector(FakeClient([]), page_limit=10).pages(DAY1))
    assert len(empty) == 1 and empty[0].records == []


def test_a_window_that_changes_while_paged_is_not_committed():
    with pytest.raises(PaginationDrift, match="changed while being paged"):
        list(GigConnector(FakeClient([{"n": i} for i in range(23)], drift_on=2), page_limit=10).pages(DAY1))
    with pytest.raises(PaginationDrift, match="held 22 entries"):
        list(GigConnector(FakeClient([{"n": i} for i in range(23)], short=True), page_limit=10).pages(DAY1))


def test_settings_choose_the_api_version_and_the_registry_knows_the_source():
    env = {"HS_PSEUDONYM_KEY": "k" * 40, "HS_GIG_URL": "http://127.0.0.1:1/", "HS_GIG_API_VERSION": "1",
           "HS_PAGE_LIMIT": "77", "HS_GIG_TOKEN": "secret"}
    settings = load_settings(env)
    source = api_source("gig")
    connector = source.connector(settings)
    assert connector.name == "gig" and connector.api_version == "1" and connector.page_limit == 77
    assert connector.path == "/api/v1/activity" and connector.client.base_url == "http://127.0.0.1:1"
    mapper = source.to_envelope(settings)
    assert mapper(PAYMENT_V1) == V2.to_envelope(PAYMENT_V2)
    assert source.to_envelope(load_settings({**env, "HS_GIG_API_VERSION": "2"}))(PAYMENT_V2) == gig.to_envelope(PAYMENT_V2)
    with pytest.raises(ValueError, match="version"):
        gig.envelope_mapper(load_settings({**env, "HS_GIG_API_VERSION": "3"}))
