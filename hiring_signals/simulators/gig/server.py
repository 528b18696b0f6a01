"""The gig platform API over real HTTP, with deterministic fault injection.

Endpoints (JSON everywhere):

    GET  /api/v1/activity  and  /api/v2/activity
         ?modified_since=<epoch ms>&modified_until=<epoch ms>&page=<n>&per_page=<m>
         The platform's activity log: entries with modified_since <= modified_at < modified_until (both
         optional, integer epoch milliseconds), ordered by (modified_at, id, revision, copy), page-number
         paginated:
         {"api_version": "2", "page": n, "per_page": m, "total": T, "total_pages": P, "data": [...]}
         page: 1-based, default 1; a page past the last is empty (200). per_page: default 100, 1..1000.
         The log is append-only, so for a window whose modified_until lies in the past the pages are
         stable: page n of a window always holds the same entries (connectors bound every pull).
         v1 and v2 serve the same entries; v2 renamed `freelancer_id`/`freelancer_email` to `worker_id`/
         `worker_email` and every `*_cents` field to `*_minor_units` (see population.RENAMED_IN_V2).
         Invalid parameters -> 400 {"error": ..., "detail": ...}.
    GET  /healthz               -> {"status": "ok"} (never needs a token, never faulted)
    GET  /_admin/stats[?modified_since=&modified_until=]
                                -> population counts, injected malformed entries, faults served and, with a
                                   window, what a consumer pulling exactly that window receives
    POST /_admin/faults         -> update the fault configuration (JSON object of FaultConfig fields)

With a token configured every endpoint but /healthz requires `Authorization: Bearer <token>` (401 otherwise).

Faults (FaultConfig), all deterministic from `FaultConfig.seed`:
  * rate_429 / rate_5xx / rate_timeout: the n-th request for a URL fails (429 with Retry-After, 500/502/503,
    or a response delayed by `timeout_delay_s`) when a hash of (seed, URL, n) falls under the rate - but never
    more than `max_consecutive_faults` times in a row for the same URL, so bounded retries always succeed.
    Retry-After is delta-seconds, or an HTTP date when `retry_after_format` is "http-date"; 503s carry it too.
  * malformed_rate: a fixed subset of the entry states (chosen by hashing (seed, id, revision)) is served
    malformed *instead of* the valid entry, in both API versions, the kinds cycling through MALFORMED_KINDS.
    States the log serves more than once (duplicates, re-indexed) are never chosen, so every malformed entry
    is exactly one quarantined record downstream.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from hiring_signals.simulators._http import BadRequest, FaultConfigBase, HttpSimulator, SimulatorHandler
from hiring_signals.simulators._http import unit_hash as _unit_hash
from hiring_signals.simulators.gig.population import API_VERSIONS, STATE_TIMESTAMP, GigPopulation, render

log = logging.getLogger(__name__)

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
ACTIVITY_PATHS = {f"/api/v{v}/activity": v for v in API_VERSIONS}

# Each kind of breakage and the quarantine reason the contract gives it downstream.
MALFORMED_KINDS = (
    "epoch_seconds",  # the change's timestamp in seconds instead of milliseconds (lands in 1970)
    "missing_timestamp",  # the change's timestamp field is absent
    "wrong_type",  # revision as a string; review ratings as strings; payment amount as a decimal string
    "hidden_email",  # the worker's email replaced by a privacy placeholder
    "unknown_status",  # a status this API version never documented
    "invalid_value",  # ratings on a 10-point scale, a negative payment, or an empty email
    "not_an_object",  # the entry arrives as a JSON string
)
EXPECTED_REASON = {
    "epoch_seconds": "invalid_timestamp",
    "missing_timestamp": "missing_required_field",
    "wrong_type": "wrong_type",
    "hidden_email": "invalid_identity",
    "unknown_status": "unknown_event_type",
    "invalid_value": "invalid_value",
    "not_an_object": "malformed_record",
}
_UNKNOWN_STATUS = {"contract": "paused", "milestone": "disputed", "review": "hidden", "payment": "refunded"}


@dataclass(frozen=True)
class FaultConfig(FaultConfigBase):
    seed: int = 0
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    retry_after_s: int = 1
    retry_after_format: str = "seconds"  # or "http-date"
    timeout_delay_s: float = 5.0
    max_consecutive_faults: int = 2
    malformed_rate: float = 0.0

    def __post_init__(self) -> None:
        self._check_rates(("rate_429", "rate_5xx", "rate_timeout", "malformed_rate"))
        if self.retry_after_format not in ("seconds", "http-date"):
            raise ValueError(f"retry_after_format must be 'seconds' or 'http-date', got {self.retry_after_format!r}")
        self._check_timeout()

    def retry_after(self) -> str:
        if self.retry_after_format == "http-date":
            return email.utils.formatdate(time.time() + self.retry_after_s, usegmt=True)
        return str(self.retry_after_s)


def malform(record: dict, kind: str) -> Any:
    """`record` (v2 shape) broken in the way `kind` describes; a new object, the input is not modified.
    For "not_an_object" the result is the marker tuple ("not_an_object", record), serialised per version."""
    if kind == "not_an_object":
        return ("not_an_object", record)
    broken = orjson.loads(orjson.dumps(record))  # deep copy: the population is shared and never mutated
    obj, status = broken["object"], broken["status"]
    stamp = STATE_TIMESTAMP[(obj, status)]
    if kind == "epoch_seconds":
        broken[stamp] = broken[stamp] // 1000
    elif kind == "missing_timestamp":
        broken.pop(stamp)
    elif kind == "wrong_type":
        if obj == "review":
            broken["ratings"] = {k: str(v) for k, v in broken["ratings"].items()}
        elif obj == "payment":
            broken["amount_minor_units"] = f"{broken['amount_minor_units'] / 100:.2f}"
        else:
            broken["revision"] = str(broken["revision"])
    elif kind == "hidden_email":
        broken["worker_email"] = "[hidden by privacy settings]"
    elif kind == "unknown_status":
        broken["status"] = _UNKNOWN_STATUS[obj]
    elif kind == "invalid_value":
        if obj == "review":
            broken["ratings"] = {k: v * 2 for k, v in broken["ratings"].items()}  # a 10-point scale
            broken["ratings"]["quality"] = max(broken["ratings"]["quality"], 6)
        elif obj == "payment":
            broken["amount_minor_units"] = -abs(broken["amount_minor_units"]) or -1
        else:
            broken["worker_email"] = ""
    else:
        raise ValueError(f"unknown malformed kind {kind!r}; known: {', '.join(MALFORMED_KINDS)}")
    return broken


def serialise(record: Any, api_version: str) -> bytes:
    """One entry as API `api_version` serves it (malform()'s "not_an_object" marker becomes a JSON string)."""
    if isinstance(record, tuple) and record and record[0] == "not_an_object":
        return orjson.dumps(orjson.dumps(render(record[1], api_version)).decode())
    return orjson.dumps(render(record, api_version))


def _ms_param(name: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise BadRequest(f"{name} must be epoch milliseconds (a non-negative integer), got {value!r}")
    return int(value)


def _int_param(name: str, value: str | None, default: int, lo: int, hi: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {value!r}") from None
    if not lo <= number <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}, got {number}")
    return number


class GigSimulator(HttpSimulator):
    """Serves a `GigPopulation` over HTTP on 127.0.0.1; use as a context manager or start()/stop()."""

    thread_name = "gig-simulator"

    def __init__(self, population: GigPopulation, host: str = "127.0.0.1", port: int = 0,
                 faults: FaultConfig | None = None, token: str | None = None, access_log: bool = False):
        super().__init__(host, port, token, access_log)
        self.population = population
        self._serialized = {v: [serialise(r, v) for r in population.records] for v in API_VERSIONS}
        counts = Counter((p[1], p[2]) for p in population.positions)
        self._served_once = [counts[(p[1], p[2])] == 1 for p in population.positions]
        self.set_faults(faults or FaultConfig())

    # -- faults -----------------------------------------------------------------------------------------
    def set_faults(self, faults: FaultConfig) -> None:
        """Replace the fault configuration; recomputes the malformed subset and resets retry bookkeeping."""
        malformed: dict[int, dict[str, bytes]] = {}
        kinds: dict[int, str] = {}
        if faults.malformed_rate > 0:
            for index, (_, record_id, revision, _seq) in enumerate(self.population.positions):
                if not self._served_once[index] or \
                        _unit_hash(faults.seed, "malformed", record_id, revision) >= faults.malformed_rate:
                    continue
                kind = MALFORMED_KINDS[len(malformed) % len(MALFORMED_KINDS)]
                broken = malform(self.population.records[index], kind)
                malformed[index] = {v: serialise(broken, v) for v in API_VERSIONS}
                kinds[index] = kind
        with self._lock:
            self.faults = faults
            self._malformed = malformed
            self._malformed_kind = kinds
            self._attempts: dict[str, int] = {}
            self._consecutive: dict[str, int] = {}

    # -- API --------------------------------------------------------------------------------------------
    def activity_page(self, api_version: str, query: dict[str, list[str]]) -> bytes:
        """The body of GET /api/v<version>/activity for a parsed query string; BadRequest on invalid input."""
        def one(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        since = _ms_param("modified_since", one("modified_since"))
        until = _ms_param("modified_until", one("modified_until"))
        if since is not None and until is not None and until < since:
            raise BadRequest("modified_until must not be before modified_since")
        page = _int_param("page", one("page"), 1, 1, 10**9)
        per_page = _int_param("per_page", one("per_page"), DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        lo, hi = self.population.window(since, until)
        total = hi - lo
        first = min(hi, lo + (page - 1) * per_page)
        stop = min(hi, first + per_page)
        with self._lock:
            malformed = self._malformed
            self._served["pages"] += 1
            self._served["records"] += stop - first
        served = self._serialized[api_version]
        items = [malformed[i][api_version] if i in malformed else served[i] for i in range(first, stop)]
        head = orjson.dumps({"api_version": api_version, "page": page, "per_page": per_page, "total": total,
                             "total_pages": math.ceil(total / per_page)})
        return b"".join((head[:-1], b',"data":[', b",".join(items), b"]}"))

    def stats(self, since_ms: int | None = None, until_ms: int | None = None, window: bool = False) -> dict[str, Any]:
        with self._lock:
            kinds = dict(self._malformed_kind)
            served = dict(self._served)
            faults = self.faults.to_dict()
        population = self.population.stats()
        positions = self.population.positions
        out: dict[str, Any] = {
            "population": population,
            "malformed": {
                "total": len(kinds),
                "by_kind": {k: sum(1 for v in kinds.values() if v == k) for k in MALFORMED_KINDS},
                "entries": [{"id": positions[i][1], "revision": positions[i][2], "modified_at": positions[i][0],
                             "kind": kind, "expected_reason": EXPECTED_REASON[kind]} for i, kind in sorted(kinds.items())],
            },
            "served": {"requests": served.get("requests", 0), "pages": served.get("pages", 0),
                       "records": served.get("records", 0), "429": served.get("429", 0),
                       "5xx": served.get("5xx", 0), "timeout": served.get("timeout", 0)},
            "faults": faults,
        }
        if window:
            lo, hi = self.population.window(since_ms, until_ms)
            in_window = [kinds[i] for i in range(lo, hi) if i in kinds]
            out["window"] = {
                "modified_since": since_ms, "modified_until": until_ms,
                **self.population.window_stats(since_ms, until_ms),
                "malformed": len(in_window),
                "malformed_by_reason": dict(sorted(Counter(EXPECTED_REASON[k] for k in in_window).items())),
            }
        return out


class _Handler(SimulatorHandler):
    server_version = "GigSimulator/1"
    realm = "gig"
    logger = log

    # -- routes -----------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        sim = self.server.simulator
        parts = urlsplit(self.path)
        if parts.path == "/healthz":
            self._send(200, b'{"status":"ok"}')
            return
        if parts.path not in ACTIVITY_PATHS and parts.path != "/_admin/stats":
            self._error(404, "not_found", f"no route for GET {parts.path}; the activity log is at "
                                          f"{' and '.join(sorted(ACTIVITY_PATHS))}")
            return
        if not self._authorised():
            return
        query = parse_qs(parts.query, keep_blank_values=True)
        if parts.path == "/_admin/stats":
            try:
                since = _ms_param("modified_since", (query.get("modified_since") or [None])[0])
                until = _ms_param("modified_until", (query.get("modified_until") or [None])[0])
            except BadRequest as exc:
                self._error(400, "invalid_request", str(exc))
                return
            windowed = "modified_since" in query or "modified_until" in query
            self._send(200, orjson.dumps(sim.stats(since, until, window=windowed)))
            return

        fault, attempt = sim._fault_for(self.path)
        faults = sim.faults
        if fault == "429":
            self._error(429, "rate_limited", "too many requests; retry later", {"Retry-After": faults.retry_after()})
            return
        if fault == "5xx":
            u = _unit_hash(faults.seed, "5xx-status", self.path, attempt)
            if u < 0.5:
                self._error(503, "unavailable", "simulated maintenance window", {"Retry-After": faults.retry_after()})
            else:
                status = 502 if u < 0.75 else 500
                self._error(status, "bad_gateway" if status == 502 else "internal_error", "simulated server error")
            return
        if fault == "timeout":
            time.sleep(faults.timeout_delay_s)
        try:
            body = sim.activity_page(ACTIVITY_PATHS[parts.path], query)
        except BadRequest as exc:
            self._error(400, "invalid_request", str(exc))
            return
        self._send(200, body)


GigSimulator.handler_class = _Handler
