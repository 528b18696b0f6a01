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
import hashlib
import hmac
import logging
import math
import socket
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from hiring_signals.simulators.gig.population import API_VERSIONS, STATE_TIMESTAMP, GigPopulation, render

log = logging.getLogger(__name__)

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
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
class FaultConfig:
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
        for name in ("rate_429", "rate_5xx", "rate_timeout", "malformed_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number within [0, 1], got {value!r}")
        if self.rate_429 + self.rate_5xx + self.rate_timeout > 1:
            raise ValueError("rate_429 + rate_5xx + rate_timeout must not exceed 1")
        for name in ("seed", "retry_after_s", "max_consecutive_faults"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if self.retry_after_format not in ("seconds", "http-date"):
            raise ValueError(f"retry_after_format must be 'seconds' or 'http-date', got {self.retry_after_format!r}")
        if isinstance(self.timeout_delay_s, bool) or not isinstance(self.timeout_delay_s, (int, float)) \
                or not 0 <= self.timeout_delay_s <= 300:
            raise ValueError(f"timeout_delay_s must be within [0, 300] seconds, got {self.timeout_delay_s!r}")

    def updated(self, changes: dict[str, Any]) -> FaultConfig:
        """A copy with `changes` applied; unknown fields are an error."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def retry_after(self) -> str:
        if self.retry_after_format == "http-date":
            return email.utils.formatdate(time.time() + self.retry_after_s, usegmt=True)
        return str(self.retry_after_s)


class BadRequest(ValueError):
    pass


def _unit_hash(*parts: object) -> float:
    """A uniform number in [0, 1) derived from the parts (stable across processes and platforms)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


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


class GigSimulator:
    """Serves a `GigPopulation` over HTTP on 127.0.0.1; use as a context manager or start()/stop()."""

    def __init__(self, population: GigPopulation, host: str = "127.0.0.1", port: int = 0,
                 faults: FaultConfig | None = None, token: str | None = None, access_log: bool = False):
        if host not in _LOOPBACK:
            raise ValueError(f"the simulator binds loopback only, not {host!r}")
        self.population = population
        self.host = host
        self.port = port
        self.token = token or None
        self.access_log = access_log
        self._serialized = {v: [serialise(r, v) for r in population.records] for v in API_VERSIONS}
        counts = Counter((p[1], p[2]) for p in population.positions)
        self._served_once = [counts[(p[1], p[2])] == 1 for p in population.positions]
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._served: Counter = Counter()
        self.set_faults(faults or FaultConfig())

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> GigSimulator:
        if self._httpd is not None:
            return self
        httpd = _Server((self.host, self.port), _Handler)
        httpd.simulator = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"gig-simulator:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:  # idle keep-alive connections would otherwise linger
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> GigSimulator:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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

    def _fault_for(self, url: str) -> tuple[str | None, int]:
        """Which fault the next request for `url` gets ('429', '5xx', 'timeout' or None), and its attempt number."""
        with self._lock:
            faults = self.faults
            attempt = self._attempts.get(url, 0)
            self._attempts[url] = attempt + 1
            fault = None
            if self._consecutive.get(url, 0) < faults.max_consecutive_faults:
                u = _unit_hash(faults.seed, "fault", url, attempt)
                if u < faults.rate_429:
                    fault = "429"
                elif u < faults.rate_429 + faults.rate_5xx:
                    fault = "5xx"
                elif u < faults.rate_429 + faults.rate_5xx + faults.rate_timeout:
                    fault = "timeout"
            self._consecutive[url] = self._consecutive.get(url, 0) + 1 if fault else 0
            self._served["requests"] += 1
            if fault:
                self._served[fault] += 1
            return fault, attempt

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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    simulator: GigSimulator


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "GigSimulator/1"
    timeout = 30  # idle keep-alive connections are closed after this many seconds

    def setup(self) -> None:
        super().setup()
        with self.server.simulator._lock:
            self.server.simulator._connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.simulator._lock:
                self.server.simulator._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        if self.server.simulator.access_log:
            log.info("%s %s", self.address_string(), format % args)

    # -- helpers ----------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. a timeout fault)
            self.close_connection = True

    def _error(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, orjson.dumps({"error": error, "detail": detail}), headers)

    def _authorised(self) -> bool:
        token = self.server.simulator.token
        if token is None:
            return True
        given = self.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
        self._error(401, "unauthorized", "missing or invalid bearer token", {"WWW-Authenticate": 'Bearer realm="gig"'})
        return False

    def _drain_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

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

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        sim = self.server.simulator
        parts = urlsplit(self.path)
        body = self._drain_body()
        if parts.path != "/_admin/faults":
            self._error(404, "not_found", f"no route for POST {parts.path}")
            return
        if not self._authorised():
            return
        try:
            changes = orjson.loads(body or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object of FaultConfig fields")
            faults = sim.faults.updated(changes)
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            self._error(400, "invalid_request", str(exc))
            return
        sim.set_faults(faults)
        stats = sim.stats()
        self._send(200, orjson.dumps({"faults": faults.to_dict(), "malformed": {
            "total": stats["malformed"]["total"], "by_kind": stats["malformed"]["by_kind"]}}))
