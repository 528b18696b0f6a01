"""The marketplace API over real HTTP, with deterministic fault injection.

Endpoints (JSON everywhere):

    GET  /v1/events?updated_since=&updated_until=&cursor=&limit=
         records with updated_since <= updated_at < updated_until (both optional, RFC 3339 with an offset),
         ordered by (updated_at, id, delivery sequence):
         {"data": [...], "next_cursor": str | null, "has_more": bool}
         limit: default 100, 1..1000. cursor: opaque, returned by the previous page; paging through a window
         yields every record exactly once. Invalid parameters -> 400 {"error": ..., "detail": ...}.
    GET  /healthz               -> {"status": "ok"} (never needs a token, never faulted)
    GET  /_admin/stats          -> population counts, injected malformed records, faults served
    POST /_admin/faults         -> update the fault configuration (JSON object of FaultConfig fields)

With a token configured every endpoint but /healthz requires `Authorization: Bearer <token>` (401 otherwise).

Faults (FaultConfig), all deterministic from `FaultConfig.seed`:
  * rate_429 / rate_5xx / rate_timeout: the n-th request for a URL fails (429 with Retry-After, 503 or 500,
    or a response delayed by `timeout_delay_s`) when a hash of (seed, URL, n) falls under the rate - but never
    more than `max_consecutive_faults` times in a row for the same URL, so bounded retries always succeed.
  * malformed_rate: a fixed subset of the non-persona records (chosen by hashing (seed, id, seq)) is served
    malformed *instead of* the valid record, the kinds cycling through MALFORMED_KINDS.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from hiring_signals.simulators._http import BadRequest, FaultConfigBase, HttpSimulator, SimulatorHandler
from hiring_signals.simulators._http import unit_hash as _unit_hash
from hiring_signals.simulators.marketplace.population import Population

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

MALFORMED_KINDS = (
    "missing_field",  # no "occurred_at" or no "type"
    "wrong_type",  # data.scores values as strings, data.review_round as a string, or occurred_at a number
    "bad_timestamp",  # "2026-13-45T99:00:00Z" or a naive timestamp without offset
    "not_an_object",  # the record arrives as a JSON string
    "unknown_type",  # "engagement.teleported.v1"
    "truncated_payload",  # data is a string holding cut-off JSON
)


@dataclass(frozen=True)
class FaultConfig(FaultConfigBase):
    seed: int = 0
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    retry_after_s: int = 1
    timeout_delay_s: float = 5.0
    max_consecutive_faults: int = 2
    malformed_rate: float = 0.0
    # Schema drift, as a source rolling out a new API release would cause it:
    extra_field_rate: float = 0.0  # records carrying fields contract v1 does not know (top level and payload)
    version_bump_type: str = ""  # an event type (e.g. "feedback.recorded") served as version 2

    def __post_init__(self) -> None:
        if not isinstance(self.version_bump_type, str):
            raise ValueError(f"version_bump_type must be an event type name, got {self.version_bump_type!r}")
        self._check_rates(("rate_429", "rate_5xx", "rate_timeout", "malformed_rate", "extra_field_rate"))
        self._check_timeout()


def _parse_time_us(name: str, value: str) -> int:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be an RFC 3339 timestamp, got {value!r}") from None
    if parsed.tzinfo is None:
        raise BadRequest(f"{name} needs a UTC offset (e.g. 'Z'), got {value!r}")
    parsed = parsed.astimezone(timezone.utc)
    return int(parsed.timestamp()) * 1_000_000 + parsed.microsecond


def encode_cursor(position: tuple[int, str, int]) -> str:
    raw = orjson.dumps([position[0], position[1], position[2]])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[int, str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_us, event_id, seq = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise BadRequest("cursor is not one this API issued") from None
    if not (isinstance(updated_us, int) and isinstance(event_id, str) and isinstance(seq, int)) \
            or isinstance(updated_us, bool) or isinstance(seq, bool):
        raise BadRequest("cursor is not one this API issued")
    return updated_us, event_id, seq


def _malform(record: dict, kind: str, variant: int) -> bytes:
    """Serialise `record` broken in the way `kind` describes."""
    broken = orjson.loads(orjson.dumps(record))  # deep copy; the population is shared and never mutated
    if kind == "missing_field":
        broken.pop("occurred_at" if variant % 2 == 0 else "type")
    elif kind == "wrong_type":
        data = broken["data"]
        if isinstance(data.get("scores"), dict):
            data["scores"] = {k: str(v) for k, v in data["scores"].items()}
        elif isinstance(data.get("review_round"), int):
            data["review_round"] = str(data["review_round"])
        else:
            broken["occurred_at"] = int(datetime.fromisoformat(record["occurred_at"]).timestamp())
    elif kind == "bad_timestamp":
        broken["occurred_at"] = "2026-13-45T99:00:00Z" if variant % 2 == 0 else record["occurred_at"].rstrip("Z")
    elif kind == "not_an_object":
        return orjson.dumps(orjson.dumps(record).decode())
    elif kind == "unknown_type":
        broken["type"] = "engagement.teleported.v1"
    elif kind == "truncated_payload":
        text = orjson.dumps(record["data"]).decode()
        broken["data"] = text[: max(1, len(text) * 2 // 3)]
    else:  # pragma: no cover - guarded by MALFORMED_KINDS
        raise ValueError(kind)
    return orjson.dumps(broken)


class MarketplaceSimulator(HttpSimulator):
    """Serves a `Population` over HTTP on 127.0.0.1; use as a context manager or start()/stop()."""

    thread_name = "marketplace-simulator"

    def __init__(self, population: Population, host: str = "127.0.0.1", port: int = 0,
                 faults: FaultConfig | None = None, token: str | None = None, access_log: bool = False):
        super().__init__(host, port, token, access_log)
        self.population = population
        self._serialized = [orjson.dumps(r) for r in population.records]
        self._by_type = Counter(r["type"] for r in population.records)
        self.set_faults(faults or FaultConfig())

    # -- faults -----------------------------------------------------------------------------------------
    def set_faults(self, faults: FaultConfig) -> None:
        """Replace the fault configuration; recomputes the malformed subset and resets retry bookkeeping."""
        malformed: dict[int, bytes] = {}
        by_kind: dict[str, list[str]] = {kind: [] for kind in MALFORMED_KINDS}
        if faults.malformed_rate > 0:
            persona_ids = self.population.persona_event_ids
            for index, (_, event_id, seq) in enumerate(self.population.positions):
                if event_id in persona_ids or _unit_hash(faults.seed, "malformed", event_id, seq) >= faults.malformed_rate:
                    continue
                n = len(malformed)
                kind = MALFORMED_KINDS[n % len(MALFORMED_KINDS)]
                malformed[index] = _malform(self.population.records[index], kind, n // len(MALFORMED_KINDS))
                by_kind[kind].append(event_id)
        drifted: dict[int, bytes] = {}
        bump = f"{faults.version_bump_type}.v1" if faults.version_bump_type else None
        if faults.extra_field_rate > 0 or bump:
            for index, (_, event_id, seq) in enumerate(self.population.positions):
                record = self.population.records[index]
                extra = _unit_hash(faults.seed, "drift", event_id, seq) < faults.extra_field_rate
                if index in malformed or not (extra or record["type"] == bump):
                    continue
                changed = orjson.loads(self._serialized[index])
                if extra:
                    changed["x_release"] = "2026.11"
                    changed["data"] = {**changed["data"], "x_confidence": 0.9}
                if record["type"] == bump:
                    changed["type"] = f"{faults.version_bump_type}.v2"
                drifted[index] = orjson.dumps(changed)
        with self._lock:
            self.faults = faults
            self._malformed = {**drifted, **malformed}
            self._drifted = sorted(drifted)
            self._malformed_by_kind = by_kind
            self._attempts: dict[str, int] = {}
            self._consecutive: dict[str, int] = {}

    # -- API --------------------------------------------------------------------------------------------
    def events_page(self, query: dict[str, list[str]]) -> bytes:
        """The body of GET /v1/events for a parsed query string; BadRequest on invalid parameters."""
        def one(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        raw_limit = one("limit")
        if raw_limit is None or raw_limit == "":
            limit = DEFAULT_LIMIT
        else:
            try:
                limit = int(raw_limit)
            except ValueError:
                raise BadRequest(f"limit must be an integer, got {raw_limit!r}") from None
            if not 1 <= limit <= MAX_LIMIT:
                raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        since = one("updated_since")
        until = one("updated_until")
        since_us = _parse_time_us("updated_since", since) if since else None
        until_us = _parse_time_us("updated_until", until) if until else None
        if since_us is not None and until_us is not None and until_us < since_us:
            raise BadRequest("updated_until must not be before updated_since")
        lo, hi = self.population.window(since_us, until_us)
        cursor = one("cursor")
        if cursor:
            lo = max(lo, bisect.bisect_right(self.population.positions, decode_cursor(cursor)))
        stop = min(hi, lo + limit)
        with self._lock:
            malformed = self._malformed
        items = [malformed.get(i) or self._serialized[i] for i in range(lo, stop)]
        has_more = stop < hi
        next_cursor = encode_cursor(self.population.positions[stop - 1]) if has_more else None
        return b"".join((b'{"data":[', b",".join(items), b'],"next_cursor":', orjson.dumps(next_cursor),
                         b',"has_more":', b"true" if has_more else b"false", b"}"))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_kind = {kind: list(ids) for kind, ids in self._malformed_by_kind.items()}
            served = dict(self._served)
            faults = self.faults.to_dict()
            drifted = len(self._drifted)
        malformed_ids = [event_id for ids in by_kind.values() for event_id in ids]
        population = self.population.stats()
        return {
            "total_records": len(self._serialized),
            "distinct_events": population["distinct_events"],
            "redeliveries": population["redeliveries"],
            "late_arrivals": population["late_arrivals"],
            "persona_records": population["persona_records"],
            "records_per_type": dict(sorted(self._by_type.items())),
            "malformed": {
                "total": len(malformed_ids),
                "by_kind": {kind: len(ids) for kind, ids in by_kind.items()},
                "ids_by_kind": by_kind,
                "ids": malformed_ids,
            },
            "served": {
                "requests": served.get("requests", 0),
                "429": served.get("429", 0),
                "5xx": served.get("5xx", 0),
                "timeout": served.get("timeout", 0),
            },
            "drifted": drifted,
            "faults": faults,
            "window": {"start": population["start"], "end": population["end"], "seed": population["seed"]},
        }


class _Handler(SimulatorHandler):
    server_version = "MarketplaceSimulator/1"
    realm = "marketplace"
    logger = log

    # -- routes -----------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        sim = self.server.simulator
        parts = urlsplit(self.path)
        if parts.path == "/healthz":
            self._send(200, b'{"status":"ok"}')
            return
        if parts.path not in ("/v1/events", "/_admin/stats"):
            self._error(404, "not_found", f"no route for GET {parts.path}")
            return
        if not self._authorised():
            return
        if parts.path == "/_admin/stats":
            self._send(200, orjson.dumps(sim.stats()))
            return

        fault, attempt = sim._fault_for(self.path)
        faults = sim.faults
        if fault == "429":
            self._error(429, "rate_limited", "too many requests; retry later",
                        {"Retry-After": str(faults.retry_after_s)})
            return
        if fault == "5xx":
            status = 503 if _unit_hash(faults.seed, "5xx-status", self.path, attempt) < 0.5 else 500
            self._error(status, "unavailable" if status == 503 else "internal_error", "simulated server error")
            return
        if fault == "timeout":
            time.sleep(faults.timeout_delay_s)
        try:
            body = sim.events_page(parse_qs(parts.query, keep_blank_values=True))
        except BadRequest as exc:
            self._error(400, "invalid_request", str(exc))
            return
        self._send(200, body)


MarketplaceSimulator.handler_class = _Handler
