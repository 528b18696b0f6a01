"""The marketplace simulator over real HTTP: pagination, filtering, auth and fault injection."""

from __future__ import annotations

import base64
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import date, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlencode

import pytest

from hiring_signals.contract import Normaliser, Reason, Rejection
from hiring_signals.identity import Pseudonymiser
from hiring_signals.simulators.marketplace import MALFORMED_KINDS, FaultConfig, MarketplaceSimulator, generate
from hiring_signals.sources.marketplace import to_envelope

START, END = date(2026, 5, 1), date(2026, 6, 20)


@lru_cache(maxsize=1)
def population():
    return generate(21, START, END, candidates=400, employers=40)


def call(url: str, *, token: str | None = None, method: str = "GET", body: dict | None = None,
         timeout: float = 10) -> tuple[int, dict, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), json.loads(exc.read())


def events_url(base: str, **params) -> str:
    return f"{base}/v1/events?{urlencode({k: v for k, v in params.items() if v is not None})}"


def page_all(base: str, *, limit: int = 137, attempts: int = 1, token: str | None = None, **window) -> tuple[list, int]:
    """Every item of a window, following next_cursor; retries 429/5xx up to `attempts` times per page."""
    items, cursor, pages = [], None, 0
    while True:
        for _ in range(attempts):
            status, _, body = call(events_url(base, limit=limit, cursor=cursor, **window), token=token)
            if status == 200:
                break
            assert status in (429, 500, 503), (status, body)
        assert status == 200, f"page still failing after {attempts} attempts"
        pages += 1
        items.extend(body["data"])
        assert body["has_more"] == (body["next_cursor"] is not None)
        if not body["has_more"]:
            return items, pages
        cursor = body["next_cursor"]


# -- basics -------------------------------------------------------------------------------------------------

def test_healthz_unknown_routes_and_loopback_only():
    with MarketplaceSimulator(population()) as sim:
        assert sim.url.startswith("http://127.0.0.1:")
        status, headers, body = call(f"{sim.url}/healthz")
        assert (status, headers["Content-Type"], body) == (200, "application/json", {"status": "ok"})
        status, _, body = call(f"{sim.url}/v2/nothing")
        assert status == 404 and body["error"] == "not_found"
    with pytest.raises(ValueError, match="loopback"):
        MarketplaceSimulator(population(), host="0.0.0.0")


def test_pagination_returns_every_record_exactly_once_in_order():
    pop = population()
    with MarketplaceSimulator(pop) as sim:
        items, pages = page_all(sim.url, limit=137)
    assert items == pop.records
    assert pages == -(-len(pop.records) // 137)
    keys = [(r["id"], r["updated_at"]) for r in items]
    assert len(keys) == len(set(keys))
    ids = Counter(r["id"] for r in items)
    assert {i for i, n in ids.items() if n > 1} == {eid for _, eid, seq in pop.positions if seq > 0}


def test_updated_since_and_until_select_a_half_open_window():
    pop = population()
    records = pop.records
    since, until = records[1000]["updated_at"], records[2500]["updated_at"]
    expected = [r for r in records if since <= r["updated_at"] < until]
    assert expected[0]["updated_at"] == since and all(r["updated_at"] < until for r in expected)
    with MarketplaceSimulator(pop) as sim:
        items, _ = page_all(sim.url, limit=50, updated_since=since, updated_until=until)
        assert items == expected
        # Offsets and fractional seconds are understood; only the instant matters.
        since_dt = datetime.fromisoformat(since)
        alt, _ = page_all(sim.url, limit=1000, updated_since=since_dt.isoformat(),
                          updated_until=(datetime.fromisoformat(until) - timedelta(microseconds=1)).isoformat())
        assert alt == [r for r in expected if r["updated_at"] < until]
        only_since, _ = page_all(sim.url, limit=1000, updated_since=records[-10]["updated_at"])
        assert only_since == [r for r in records if r["updated_at"] >= records[-10]["updated_at"]]
        status, _, body = call(events_url(sim.url, updated_since=pop.end_at.isoformat()))
        assert status == 200 and body == {"data": [], "next_cursor": None, "has_more": False}


def test_default_and_maximum_page_sizes():
    with MarketplaceSimulator(population()) as sim:
        _, _, body = call(events_url(sim.url))
        assert len(body["data"]) == 100 and body["has_more"]
        _, _, body = call(events_url(sim.url, limit=1000))
        assert len(body["data"]) == 1000


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 1001}, {"limit": "ten"},
    {"cursor": "!!!not-base64!!!"}, {"cursor": base64.urlsafe_b64encode(b"not json").decode()},
    {"cursor": base64.urlsafe_b64encode(b'["a", 1, 2]').decode()},
    {"updated_since": "yesterday"}, {"updated_since": "2026-05-02T00:00:00"},
    {"updated_since": "2026-06-01T00:00:00Z", "updated_until": "2026-05-01T00:00:00Z"},
])
def test_invalid_parameters_are_a_400_with_a_json_error(params):
    with MarketplaceSimulator(population()) as sim:
        status, headers, body = call(events_url(sim.url, **params))
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert body["error"] == "invalid_request" and body["detail"]


def test_bearer_token_is_required_when_configured():
    with MarketplaceSimulator(population(), token="s3cret") as sim:
        status, headers, _ = call(events_url(sim.url, limit=1))
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert call(events_url(sim.url, limit=1), token="wrong")[0] == 401
        assert call(f"{sim.url}/_admin/stats")[0] == 401
        assert call(f"{sim.url}/_admin/faults", method="POST", body={"rate_429": 1.0})[0] == 401
        assert call(events_url(sim.url, limit=1), token="s3cret")[0] == 200
        assert call(f"{sim.url}/healthz")[0] == 200


# -- faults -------------------------------------------------------------------------------------------------

def test_429_carries_retry_after_and_is_bounded_per_url():
    faults = FaultConfig(rate_429=1.0, retry_after_s=3, max_consecutive_faults=2)
    with MarketplaceSimulator(population(), faults=faults) as sim:
        url = events_url(sim.url, limit=5)
        first, second, third = call(url), call(url), call(url)
        assert [first[0], second[0], third[0]] == [429, 429, 200]
        assert first[1]["Retry-After"] == "3" and first[2]["error"] == "rate_limited"
        assert len(third[2]["data"]) == 5
        assert call(url)[0] == 429, "the budget is per run of consecutive faults"
        stats = call(f"{sim.url}/_admin/stats")[2]
        assert stats["served"]["429"] == 3 and stats["served"]["requests"] == 4


def test_5xx_never_exceeds_the_consecutive_bound_so_bounded_retries_succeed():
    pop = population()
    faults = FaultConfig(seed=3, rate_5xx=0.6, max_consecutive_faults=2)
    with MarketplaceSimulator(pop, faults=faults) as sim:
        items, pages = page_all(sim.url, limit=500, attempts=3)
        stats = call(f"{sim.url}/_admin/stats")[2]
    assert items == pop.records
    assert stats["served"]["5xx"] > 0
    assert stats["served"]["requests"] == pages + stats["served"]["5xx"]


def test_timeout_fault_delays_the_response():
    faults = FaultConfig(rate_timeout=1.0, timeout_delay_s=1.0, max_consecutive_faults=1)
    with MarketplaceSimulator(population(), faults=faults) as sim:
        url = events_url(sim.url, limit=3)
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            call(url, timeout=0.2)
        began = time.perf_counter()
        assert call(url, timeout=5)[0] == 200
        assert time.perf_counter() - began < 0.9
        assert call(f"{sim.url}/_admin/stats")[2]["served"]["timeout"] == 1


def test_fault_settings_are_validated():
    with MarketplaceSimulator(population()) as sim:
        for bad in ({"rate_429": 1.5}, {"no_such_fault": 1}, {"rate_429": 0.6, "rate_5xx": 0.6},
                    {"max_consecutive_faults": -1}):
            status, _, body = call(f"{sim.url}/_admin/faults", method="POST", body=bad)
            assert status == 400 and body["error"] == "invalid_request", bad
    with pytest.raises(ValueError):
        FaultConfig(malformed_rate=2)


KIND_REASON = {
    "missing_field": Reason.MISSING_REQUIRED_FIELD,
    "wrong_type": Reason.WRONG_TYPE,
    "bad_timestamp": Reason.INVALID_TIMESTAMP,
    "not_an_object": Reason.MALFORMED_RECORD,
    "unknown_type": Reason.UNKNOWN_EVENT_TYPE,
    "truncated_payload": Reason.WRONG_TYPE,
}


def test_malformed_records_replace_valid_ones_and_stats_match_what_a_client_sees():
    pop = population()
    with MarketplaceSimulator(pop) as sim:
        status, _, body = call(f"{sim.url}/_admin/faults", method="POST", body={"malformed_rate": 0.03, "seed": 5})
        assert status == 200 and body["faults"]["malformed_rate"] == 0.03
        items, _ = page_all(sim.url, limit=400)
        again, _ = page_all(sim.url, limit=250)
        stats = call(f"{sim.url}/_admin/stats")[2]
    assert items == again, "the malformed subset is deterministic"
    assert len(items) == len(pop.records) == stats["total_records"]

    normaliser = Normaliser("marketplace", "test-batch", pop.end_at, Pseudonymiser(b"k" * 32))
    seen_reasons: Counter = Counter()
    rejected_ids: dict[str, set] = {}
    for served, original in zip(items, pop.records):
        outcome = normaliser.normalise(to_envelope(served))
        if isinstance(outcome, Rejection):
            seen_reasons[outcome.reason] += 1
            rejected_ids.setdefault(outcome.reason, set()).add(original["id"])
            assert served != original
            assert original["id"] not in pop.persona_event_ids
        else:
            assert served == original

    malformed = stats["malformed"]
    assert set(malformed["by_kind"]) == set(MALFORMED_KINDS)
    assert all(n > 0 for n in malformed["by_kind"].values()), malformed["by_kind"]
    assert malformed["total"] == sum(seen_reasons.values()) == len(malformed["ids"])
    assert 0.015 * len(items) < malformed["total"] < 0.05 * len(items)
    expected_reasons: Counter = Counter()
    for kind, n in malformed["by_kind"].items():
        expected_reasons[KIND_REASON[kind]] += n
    assert seen_reasons == expected_reasons
    for kind, ids in malformed["ids_by_kind"].items():
        assert set(ids) <= rejected_ids[KIND_REASON[kind]]
    assert not set(malformed["ids"]) & pop.persona_event_ids
    not_objects = [i for i in items if not isinstance(i, dict)]
    assert len(not_objects) == malformed["by_kind"]["not_an_object"]
    assert all(isinstance(i, str) and json.loads(i)["id"] in malformed["ids"] for i in not_objects)


# -- CLI ----------------------------------------------------------------------------------------------------

def test_cli_serves_until_sigterm_and_exits_cleanly():
    command = [sys.executable, "-m", "hiring_signals.simulators.marketplace", "--port", "0", "--seed", "3",
               "--candidates", "120", "--employers", "12", "--start", "2026-05-01", "--end", "2026-06-01",
               "--malformed-rate", "0", "--token", "tok"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"marketplace simulator serving (\d+) records on (http://127\.0\.0\.1:\d+)", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        count, url = int(match.group(1)), match.group(2)
        assert call(f"{url}/healthz")[0] == 200
        stats = call(f"{url}/_admin/stats", token="tok")[2]
        assert stats["total_records"] == count and stats["malformed"]["total"] == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert process.stdout.read() == "" and process.stderr.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
