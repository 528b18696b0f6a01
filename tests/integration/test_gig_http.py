"""The gig platform simulator over real HTTP, and the gig source end to end: the simulator process (the CLI
path the demo uses) -> pipeline.extract / pipeline.load -> the real S3 endpoint (moto_server)."""

from __future__ import annotations

import email.utils
import gzip
import io
import json
import math
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import urlencode

import pyarrow.parquet as pq
import pytest

from hiring_signals import pipeline
from hiring_signals.config import load_settings
from hiring_signals.embedded import free_port, start_simulator
from hiring_signals.identity import Pseudonymiser, normalise_email
from hiring_signals.simulators.gig import EXPECTED_REASON, FaultConfig, GigSimulator, generate, render
from hiring_signals.simulators.marketplace import MarketplaceSimulator, generate as marketplace_generate
from hiring_signals.storage import Interval, Lake
from hiring_signals.storage import layout

START, END = date(2026, 5, 1), date(2026, 5, 20)
SEED = 23
SIZE = {"candidates": 1500, "employers": 300}
RATES = {"late_rate": 0.1, "duplicate_rate": 0.1, "retouch_rate": 0.1}
CLI_RATES = ["--late-rate", "0.1", "--duplicate-rate", "0.1", "--retouch-rate", "0.1", "--malformed-rate", "0"]
RUN_START = datetime(2026, 5, 12, tzinfo=timezone.utc)
DAYS = 3


@lru_cache(maxsize=1)
def population():
    return generate(SEED, START, END, **SIZE, **RATES)


def ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def call(url: str, *, token: str | None = None, method: str = "GET", body: dict | None = None,
         timeout: float = 10) -> tuple[int, dict, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), json.loads(exc.read())


def activity(base: str, version: str = "2", **params) -> str:
    return f"{base}/api/v{version}/activity?{urlencode(params)}"


# -- the API ---------------------------------------------------------------------------------------------------

def test_healthz_unknown_routes_and_loopback_only():
    with GigSimulator(population()) as sim:
        assert sim.url.startswith("http://127.0.0.1:")
        assert call(f"{sim.url}/healthz")[::2] == (200, {"status": "ok"})
        status, _, body = call(f"{sim.url}/api/v3/activity")
        assert status == 404 and "/api/v1/activity" in body["detail"]
        assert call(f"{sim.url}/_admin/faults", method="POST", body={})[0] == 200  # no change is a valid change
        assert call(f"{sim.url}/_admin/nothing", method="POST", body={})[0] == 404
    with pytest.raises(ValueError, match="loopback"):
        GigSimulator(population(), host="0.0.0.0")


@pytest.mark.parametrize("version", ["1", "2"])
def test_pages_partition_a_window_exactly(version):
    pop = population()
    since, until = ms(datetime(2026, 5, 5, tzinfo=timezone.utc)), ms(datetime(2026, 5, 9, tzinfo=timezone.utc))
    lo, hi = pop.window(since, until)
    expected = [render(r, version) for r in pop.records[lo:hi]]
    with GigSimulator(pop) as sim:
        items, page = [], 1
        while True:
            status, _, body = call(activity(sim.url, version, modified_since=since, modified_until=until, page=page,
                                            per_page=37))
            assert status == 200
            assert (body["api_version"], body["page"], body["per_page"], body["total"]) == (version, page, 37, hi - lo)
            assert body["total_pages"] == math.ceil((hi - lo) / 37)
            items.extend(body["data"])
            if page >= body["total_pages"]:
                break
            page += 1
        assert items == expected and len(items) > 100
        assert all(since <= r["modified_at"] < until for r in items)
        status, _, past = call(activity(sim.url, version, modified_since=since, modified_until=until,
                                        page=page + 1, per_page=37))
        assert status == 200 and past["data"] == [] and past["total"] == hi - lo
        # without bounds: the whole log, default page size
        status, _, whole = call(activity(sim.url, version))
        assert whole["per_page"] == 100 and whole["total"] == len(pop.records)


def test_invalid_parameters_are_rejected_with_400():
    with GigSimulator(population()) as sim:
        for params in ({"page": 0}, {"page": "x"}, {"per_page": 1001}, {"per_page": 0},
                       {"modified_since": "2026-05-01T00:00:00Z"}, {"modified_since": -5},
                       {"modified_since": 2000, "modified_until": 1000}):
            status, _, body = call(activity(sim.url, **params))
            assert status == 400 and body["error"] == "invalid_request", params


def test_a_token_is_required_when_configured():
    with GigSimulator(population(), token="s3cret") as sim:
        status, headers, _ = call(activity(sim.url))
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert call(activity(sim.url), token="wrong")[0] == 401
        assert call(activity(sim.url), token="s3cret")[0] == 200
        assert call(f"{sim.url}/healthz")[0] == 200


def test_fault_settings_are_validated_and_malformed_entries_reported():
    pop = population()
    with GigSimulator(pop) as sim:
        for bad in ({"rate_429": 2}, {"nonsense": 1}, {"retry_after_format": "minutes"}, {"rate_429": 0.6, "rate_5xx": 0.6}):
            assert call(f"{sim.url}/_admin/faults", method="POST", body=bad)[0] == 400, bad
        status, _, answer = call(f"{sim.url}/_admin/faults", method="POST", body={"seed": 9, "malformed_rate": 0.1})
        assert status == 200 and answer["faults"]["malformed_rate"] == 0.1
        total = answer["malformed"]["total"]
        assert 0.06 * len(pop.records) < total < 0.14 * len(pop.records)
        assert min(answer["malformed"]["by_kind"].values()) >= total // 7
        _, _, stats = call(f"{sim.url}/_admin/stats?modified_since={pop.start_ms}&modified_until={pop.end_ms}")
        assert stats["window"]["malformed"] == total
        assert sum(stats["window"]["malformed_by_reason"].values()) == total
        assert set(stats["window"]["malformed_by_reason"]) == set(EXPECTED_REASON.values())
        # served instead of the valid entry, in both versions
        entry = stats["malformed"]["entries"][0]
        for version in ("1", "2"):
            _, _, page = call(activity(sim.url, version, modified_since=entry["modified_at"],
                                       modified_until=entry["modified_at"] + 1, per_page=1000))
            served = [r for r in page["data"] if not isinstance(r, dict) or (r["id"], r["revision"]) ==
                      (entry["id"], entry["revision"])]
            valid = render(next(r for r in pop.records if (r["id"], r["revision"]) == (entry["id"], entry["revision"])),
                           version)
            assert served and valid not in served


def test_throttling_and_server_errors_are_deterministic_and_bounded():
    pop = population()
    faults = FaultConfig(seed=1, rate_429=0.7, rate_5xx=0.3, retry_after_s=7, max_consecutive_faults=3)
    outcomes = []
    for _ in range(2):
        with GigSimulator(pop, faults=faults) as sim:
            run = []
            for page in range(1, 6):
                url = activity(sim.url, page=page, per_page=50)
                for attempt in range(4):
                    status, headers, _ = call(url)
                    run.append((page, attempt, status, headers.get("Retry-After")))
                    if status == 200:
                        break
                assert status == 200  # never more than max_consecutive_faults in a row
            outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    statuses = {s for _, _, s, _ in outcomes[0]}
    assert 429 in statuses and statuses & {500, 502, 503}
    assert all(ra == "7" for _, _, s, ra in outcomes[0] if s in (429, 503))
    with GigSimulator(pop, faults=FaultConfig(rate_429=1.0, retry_after_s=30, retry_after_format="http-date")) as sim:
        status, headers, _ = call(activity(sim.url))
        assert status == 429
        when = email.utils.parsedate_to_datetime(headers["Retry-After"])
        assert 25 <= (when - datetime.now(timezone.utc)).total_seconds() <= 31


# -- the pipeline ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gig_url(tmp_path_factory):
    port = free_port()
    proc = start_simulator("gig", port, tmp_path_factory.mktemp("gig-logs"), seed=SEED, start=START.isoformat(),
                               end=END.isoformat(), extra_args=CLI_RATES, **SIZE)
    yield f"http://127.0.0.1:{port}"
    proc.stop()


def days() -> list[Interval]:
    return [Interval(RUN_START + timedelta(days=n), RUN_START + timedelta(days=n + 1)) for n in range(DAYS)]


def raw_rows(lake: Lake, source: str) -> list[dict]:
    rows = []
    for interval in days():
        manifest = lake.get_json(layout.raw_manifest_ref(lake, source, interval))
        for f in manifest["files"]:
            if f["zone"] == "raw":
                rows.extend(pq.read_table(io.BytesIO(lake.get(lake.ref("raw", f["key"])))).to_pylist())
    return rows


def raw_files(lake: Lake, source: str) -> list[str]:
    return sorted(f["key"] for i in days() for f in lake.get_json(layout.raw_manifest_ref(lake, source, i))["files"]
                  if f["zone"] == "raw")


def run(env: dict, source: str) -> tuple[dict, dict, Lake]:
    settings = load_settings(env)
    lake = Lake(settings.s3)
    lake.ensure_buckets()
    end = RUN_START + timedelta(days=DAYS)
    return pipeline.extract(settings, source, RUN_START, end), pipeline.load(settings, source, RUN_START, end), lake


def test_gig_days_land_in_raw_reconciled_identically_in_both_versions_and_join_marketplace_people(hs_env, gig_url):
    # the process serves exactly the population this test generates in-process (same seed and arguments)
    _, _, stats = call(f"{gig_url}/_admin/stats")
    assert stats["population"]["records"] == len(population().records)

    status, _, _ = call(f"{gig_url}/_admin/faults", method="POST",
                        body={"seed": 4, "malformed_rate": 0.06, "rate_429": 0.25, "retry_after_s": 1})
    assert status == 200
    env_v1 = dict(hs_env, HS_GIG_URL=gig_url, HS_GIG_API_VERSION="1", HS_PAGE_LIMIT="25")
    extracted, loaded, lake = run(env_v1, "gig")

    windows = [call(f"{gig_url}/_admin/stats?modified_since={ms(i.start)}&modified_until={ms(i.end)}")[2]["window"]
               for i in days()]
    counts = loaded["counts"]
    assert counts["received"] == extracted["records"] == sum(w["records"] for w in windows)
    assert counts["received"] == counts["accepted"] + counts["duplicates"] + counts["quarantined"]
    assert counts["duplicates"] == sum(w["duplicate_copies"] for w in windows) > 0
    assert counts["quarantined"] == sum(w["malformed"] for w in windows) > 0
    assert counts["accepted"] == sum(w["distinct_states"] - w["malformed"] for w in windows)
    assert sum(w["late"] for w in windows) > 0

    # every quarantined entry carries the reason its breakage calls for, and no email in clear
    reasons: dict[str, int] = {}
    for w in windows:
        for reason, n in w["malformed_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    quarantine = b""
    for interval in days():
        manifest = lake.get_json(layout.raw_manifest_ref(lake, "gig", interval))
        for f in manifest["files"]:
            if f["zone"] == "quarantine":
                quarantine += gzip.decompress(lake.get(lake.ref("quarantine", f["key"])))
        for reason, n in manifest["quarantine_reasons"].items():
            reasons[reason] -= n
    assert set(reasons.values()) <= {0}
    assert len(quarantine.splitlines()) == counts["quarantined"] and b"@" not in quarantine

    # the 429 storm was ridden out by honouring Retry-After, and the client saw what the server sent
    http = extracted["http"]
    _, _, served = call(f"{gig_url}/_admin/stats")
    assert http["throttled"] == served["served"]["429"] > 0
    assert http["retry_after_honoured"] == [1.0] * http["throttled"]
    assert http["waited_s"] >= http["throttled"]

    # API v2 (renamed fields) lands byte-identical raw data
    call(f"{gig_url}/_admin/faults", method="POST", body={"rate_429": 0.0})
    env_v2 = dict(env_v1, HS_GIG_API_VERSION="2", HS_PAGE_LIMIT="40", HS_LAKE_BUCKET=hs_env["HS_LAKE_BUCKET"] + "-v2")
    _, loaded_v2, lake_v2 = run(env_v2, "gig")
    assert loaded_v2["counts"] == counts
    assert raw_files(lake_v2, "gig") == raw_files(lake, "gig")
    gig_rows = raw_rows(lake, "gig")
    assert len(gig_rows) == counts["accepted"]
    # a state re-served on a later day is in both days' batches under one event id (deduplicated downstream)
    _, _, whole = call(f"{gig_url}/_admin/stats?modified_since={ms(RUN_START)}"
                       f"&modified_until={ms(RUN_START + timedelta(days=DAYS))}")
    event_ids = {r["event_id"] for r in gig_rows}
    assert len(event_ids) == whole["window"]["distinct_states"] - whole["window"]["malformed"]
    assert len(gig_rows) - len(event_ids) == sum(w["distinct_states"] for w in windows) - whole["window"]["distinct_states"]
    assert {r["event_type"] for r in gig_rows} >= {"application.decided", "engagement.started",
                                                  "deliverable.submitted", "deliverable.reviewed", "payment.settled"}

    # the same person on both platforms gets the same candidate_ref
    mp_population = marketplace_generate(SEED, START, END, **SIZE)
    with MarketplaceSimulator(mp_population) as mp:
        run(dict(env_v1, HS_MARKETPLACE_URL=mp.url), "marketplace")
    mp_refs = {r["candidate_ref"] for r in raw_rows(lake, "marketplace")} - {None}
    gig_refs = {r["candidate_ref"] for r in gig_rows} - {None}
    refs = Pseudonymiser(hs_env["HS_PSEUDONYM_KEY"].encode())
    freelancers = population().freelancers
    resolvable = {refs.candidate_ref(f.email): f for f in freelancers if f.resolvable}
    both = mp_refs & gig_refs
    assert both and both <= set(resolvable)
    # ... though the gig platform served their address differently (case, whitespace) than the marketplace
    served_variants = {r["worker_email"] for r in population().records
                       if refs.candidate_ref(r["worker_email"]) in both and r["worker_email"] != normalise_email(r["worker_email"])}
    assert served_variants
    # gig-only people and people who signed up with another address never join marketplace candidates
    never = {refs.candidate_ref(f.account_email) for f in freelancers if not f.resolvable}
    assert never.isdisjoint(mp_refs) and never & gig_refs
