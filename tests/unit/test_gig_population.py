"""The gig platform simulator's population: determinism, people shared with the marketplace, its own email
habits, epoch-ms timestamps, minor units, the v1/v2 rename, lifecycles, late / duplicated entries."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import date
from functools import lru_cache

import orjson
import pytest

from hiring_signals.identity import normalise_email
from hiring_signals.simulators.gig import (
    API_VERSIONS,
    STATE_TIMESTAMP,
    GigSimulator,
    generate,
    marketplace_people,
    render,
)
from hiring_signals.simulators.gig.population import DAY, MINOR_UNIT_EXPONENT
from hiring_signals.simulators.marketplace import generate as marketplace_generate

START, END = date(2026, 5, 1), date(2026, 7, 1)
SIZE = {"candidates": 600, "employers": 60}


@lru_cache(maxsize=None)
def small(seed: int = 11, **rates):
    return generate(seed, START, END, **SIZE, **rates)


@lru_cache(maxsize=1)
def marketplace():
    return marketplace_generate(11, START, END, **SIZE)


def serialised(population, version):
    return b"\n".join(orjson.dumps(render(r, version)) for r in population.records)


# -- determinism ---------------------------------------------------------------------------------------------

def test_same_seed_gives_the_same_bytes_and_another_seed_differs():
    a = generate(11, START, END, **SIZE)
    b = small(11)
    assert a.records == b.records and a.positions == b.positions and a.late_keys == b.late_keys
    for version in API_VERSIONS:
        assert serialised(a, version) == serialised(b, version)
    assert [f.account_email for f in a.freelancers] == [f.account_email for f in b.freelancers]
    c = small(12)
    assert c.records != a.records
    assert {r["id"] for r in c.records}.isdisjoint({r["id"] for r in a.records})


def test_the_simulator_serves_the_population_in_generation_order():
    population = small()
    sim = GigSimulator(population)
    assert sim._serialized["2"] == [orjson.dumps(r) for r in population.records]
    assert len(sim._serialized["1"]) == len(population.records)


def test_rates_are_validated():
    with pytest.raises(TypeError, match="unknown rate"):
        generate(1, START, END, candidates=10, employers=2, lateness=0.1)
    with pytest.raises(ValueError, match="late_rate"):
        generate(1, START, END, candidates=10, employers=2, late_rate=1.5)
    with pytest.raises(ValueError, match="must be after"):
        generate(1, END, START)


# -- the same people as the marketplace ------------------------------------------------------------------------

def test_people_are_exactly_the_marketplace_populations_people():
    candidates, employers = marketplace_people(11, START, END, **SIZE)
    full = marketplace()
    assert [(c.id, c.email, c.reliability) for c in candidates] == \
           [(c.id, c.email, c.reliability) for c in full.candidates]
    assert [e.name for e in employers] == [e.name for e in full.employers]
    # drawing the gig population leaves the marketplace's output untouched
    small(11)
    assert marketplace_generate(11, START, END, **SIZE).records == full.records


def test_a_seeded_share_of_marketplace_people_freelance_here_and_their_emails_overlap():
    population, full = small(), marketplace()
    by_email = {c.email: c for c in full.candidates}
    shared = [f for f in population.freelancers if f.marketplace_candidate_id is not None]
    gig_only = [f for f in population.freelancers if f.marketplace_candidate_id is None]
    assert 0.33 * SIZE["candidates"] <= len(shared) <= 0.47 * SIZE["candidates"]
    assert len(gig_only) == round(len(shared) * population.rates.gig_only_ratio)
    for f in shared:  # the same person: same address, same behaviour
        person = by_email[f.email]
        assert (person.id, person.reliability, person.skill) == (f.marketplace_candidate_id, f.reliability, f.skill)
    # identity resolution can join exactly the people who signed up with their marketplace address
    served = {normalise_email(r["worker_email"]) for r in population.records}
    working = {r["worker_id"] for r in population.records}
    overlap = served & set(by_email)
    resolvable = {f.email for f in shared if f.resolvable}
    assert overlap == {f.email for f in shared if f.resolvable and f.id in working}
    assert len(overlap) > 60
    assert len(resolvable) < len(shared)  # a few registered with another address: never joined
    assert not {normalise_email(f.account_email) for f in gig_only} & set(by_email)
    assert population.stats()["resolvable_with_marketplace"] == len(resolvable)


def test_the_platform_serves_emails_its_own_way():
    population = small()
    canonical = {f.id: f.email for f in population.freelancers if f.resolvable}
    served = [(r["worker_id"], r["worker_email"]) for r in population.records if r["worker_id"] in canonical]
    upper = sum(1 for _, e in served if e.strip() == e.strip().upper())
    padded = sum(1 for _, e in served if e != e.strip())
    assert 0.15 * len(served) < upper < 0.5 * len(served)
    assert 0 < padded < 0.08 * len(served)
    assert all(normalise_email(e) == canonical[fid] for fid, e in served)
    assert sum(1 for fid, e in served if e == canonical[fid]) > 0.4 * len(served)


# -- wire shape ------------------------------------------------------------------------------------------------

def test_timestamps_are_epoch_milliseconds_inside_the_window():
    population = small()
    lo, hi = population.start_ms, population.end_ms
    for record in population.records:
        stamps = {k: v for k, v in record.items() if k.endswith("_at") and v is not None}
        assert all(isinstance(v, int) and 1_700_000_000_000 < v < 1_900_000_000_000 for v in stamps.values()), record
        occurred = record[STATE_TIMESTAMP[(record["object"], record["status"])]]
        assert lo <= occurred <= record["modified_at"] < hi
    assert any(r["modified_at"] % 1000 for r in population.records)  # genuinely millisecond precision


def test_money_is_integer_minor_units_with_a_currency():
    population = small()
    payments = [r for r in population.records if r["object"] == "payment"]
    assert payments and all(isinstance(p["amount_minor_units"], int) and p["amount_minor_units"] > 0 for p in payments)
    assert {p["currency"] for p in payments} <= set(MINOR_UNIT_EXPONENT)
    assert {"USD", "EUR", "JPY"} <= {p["currency"] for p in payments}
    assert Counter(p["kind"] for p in payments).keys() == {"milestone", "hourly", "bonus"}
    jpy = [p["amount_minor_units"] for p in payments if p["currency"] == "JPY" and p["kind"] == "milestone"]
    usd = [p["amount_minor_units"] for p in payments if p["currency"] == "USD" and p["kind"] == "milestone"]
    # yen have no minor unit: a milestone is worth about 1.5x as many yen as it is worth US cents
    assert 0.8 < (sum(jpy) / len(jpy)) / (sum(usd) / len(usd)) < 2.5
    offered = [r for r in population.records if r["object"] == "contract" and r["status"] == "offered"]
    for contract in offered:
        if contract["contract_type"] == "fixed_price":
            assert sum(m["amount_minor_units"] for m in contract["milestones"]) == contract["budget_minor_units"]
        else:
            assert contract["milestones"] == [] and contract["hourly_rate_minor_units"] > 0


def test_v2_renamed_fields_and_v1_serves_the_old_names():
    record = next(r for r in small().records if r["object"] == "payment")
    v1 = render(record, "1")
    assert "worker_email" in record and "amount_minor_units" in record
    assert v1["freelancer_email"] == record["worker_email"] and v1["freelancer_id"] == record["worker_id"]
    assert v1["amount_cents"] == record["amount_minor_units"]
    assert {"worker_email", "worker_id", "amount_minor_units"}.isdisjoint(v1)
    contract = next(r for r in small().records if r["object"] == "contract" and r["milestones"])
    assert all("amount_cents" in m for m in render(contract, "1")["milestones"])
    for version, forbidden in (("1", (b'"worker_', b'_minor_units"')), ("2", (b'"freelancer_', b'_cents"'))):
        body = serialised(small(), version)
        assert not any(f in body for f in forbidden)
    with pytest.raises(ValueError, match="unknown API version"):
        render(record, "3")


def test_lifecycles_are_consistent():
    population = small()
    states = defaultdict(list)
    for record, position in zip(population.records, population.positions):
        if position[3] == 0:
            states[record["id"]].append(record)
    contract_status = {1: {"offered"}, 2: {"active"}, 3: {"ended"}}
    milestone_status = {1: {"submitted"}, 2: {"approved", "changes_requested"}, 3: {"submitted"}, 4: {"approved"}}
    contracts = milestones = 0
    for object_id, entries in states.items():
        # a revision can be missing here: logged late, after the window's end
        entries.sort(key=lambda r: r["revision"])
        obj = entries[0]["object"]
        times = [r[STATE_TIMESTAMP[(obj, r["status"])]] for r in entries]
        assert times == sorted(times), entries
        if obj == "contract":
            contracts += 1
            assert all(r["status"] in contract_status[r["revision"]] for r in entries), entries
            for r in entries:
                assert (r["end_reason"] is None) == (r["status"] != "ended")
                assert r["end_reason"] in (None, "completed", "cancelled_by_client", "withdrawn_by_freelancer",
                                           "terminated_by_platform")
        elif obj == "milestone":
            milestones += 1
            assert all(r["status"] in milestone_status[r["revision"]] for r in entries), entries
            assert all(r["submission_round"] == (1 if r["revision"] <= 2 else 2) for r in entries)
            assert all(r["submitted_at"] <= (r["reviewed_at"] or r["submitted_at"]) for r in entries)
            if any(r["status"] == "approved" and r["revision"] == 4 for r in entries):
                assert all(r["status"] != "approved" for r in entries if r["revision"] == 2)
        elif obj == "review":
            assert len(entries) == 1
            assert all(1 <= v <= 5 and isinstance(v, int) for v in entries[0]["ratings"].values())
        else:
            assert len(entries) == 1 and entries[0]["status"] == "paid"
    assert contracts > 200 and milestones > 200


def test_late_duplicated_and_reindexed_entries_at_their_rates():
    population = small()
    stats = population.stats()
    distinct = stats["distinct_states"]
    assert 0.025 * distinct < stats["late_entries"] < 0.06 * distinct
    assert 0.008 * distinct < stats["duplicate_copies"] < 0.025 * distinct
    assert stats["retouched"] > 0
    late_gaps = [r["modified_at"] - r[STATE_TIMESTAMP[(r["object"], r["status"])]]
                 for r, p in zip(population.records, population.positions) if (p[1], p[2]) in population.late_keys]
    assert min(late_gaps) >= 2 * DAY
    first = {}
    for record, (modified, object_id, revision, seq) in zip(population.records, population.positions):
        if seq == 0:
            first[(object_id, revision)] = record
    last_revision = {}
    for object_id, revision in first:
        last_revision[object_id] = max(revision, last_revision.get(object_id, 0))
    for record, (modified, object_id, revision, seq) in zip(population.records, population.positions):
        if seq == 1:  # written twice: the very same entry
            assert record == first[(object_id, revision)]
        if seq == 2:  # re-indexed: the latest state again, later
            original = first[(object_id, revision)]
            assert revision == last_revision[object_id]
            assert record["modified_at"] > original["modified_at"]
            assert {k: v for k, v in record.items() if k != "modified_at"} == \
                   {k: v for k, v in original.items() if k != "modified_at"}
    assert population.stats()["records"] == distinct + stats["duplicate_copies"] + stats["retouched"]
    no_faults = generate(11, START, END, **SIZE, late_rate=0, duplicate_rate=0, retouch_rate=0).stats()
    assert no_faults["duplicate_copies"] == no_faults["retouched"] == no_faults["late_entries"] == 0


def test_window_stats_count_what_a_consumer_of_that_window_receives():
    population = small()
    day_ms = DAY
    total_dups = 0
    for n in range(10):
        since = population.start_ms + n * day_ms
        window = population.window_stats(since, since + day_ms)
        lo, hi = population.window(since, since + day_ms)
        keys = [(p[1], p[2]) for p in population.positions[lo:hi]]
        assert window["records"] == len(keys) and window["distinct_states"] == len(set(keys))
        total_dups += window["duplicate_copies"]
    assert total_dups > 0


def test_default_size_volume_and_generation_time():
    began = time.perf_counter()
    population = generate(7, date(2026, 5, 1), date(2026, 10, 30), candidates=3000, employers=300)
    elapsed = time.perf_counter() - began
    stats = population.stats()
    assert elapsed < 10
    assert 20_000 < stats["records"] < 60_000
    assert stats["freelancers"] > 1200 and stats["clients"] == 300 and stats["contracts"] > 2500
