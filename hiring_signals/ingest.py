"""Ingestion of one source for one data interval: extract to landing, then normalise into raw.

    extract_to_landing: API pages exactly as received -> landing/api/... (+ landing manifest)
    load_to_raw:        landing -> contract v1 -> in-batch de-duplication -> quarantine with reasons
                        -> GX raw_events gate -> atomic raw commit (+ quarantine files, counts)

Both steps are keyed by (source, data interval) and safe to rerun: a rerun replaces the batch, never adds
to it. `ingested_at` is the interval's end (the knowledge time a scheduled run has), never the wall clock,
so a backfill produces exactly what the nightly runs would have.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from hiring_signals.contract import Normaliser, Rejection, raw_event_arrow_schema
from hiring_signals.identity import Pseudonymiser
from hiring_signals.quality import enforce, validate
from hiring_signals.storage import Interval, Lake, StagedFile, commit_batch, gzip_deterministic
from hiring_signals.storage import layout
from hiring_signals.storage.lake import canonical_json

log = logging.getLogger(__name__)

PAGES_PER_LANDING_FILE = 200
ROWS_PER_RAW_FILE = 250_000


class ReconciliationError(RuntimeError):
    """received != accepted + duplicates + quarantined: a bug, never a data problem."""


@dataclass(frozen=True)
class BatchCounts:
    received: int
    accepted: int
    duplicates: int
    quarantined: int

    def check(self, where: str) -> "BatchCounts":
        if self.received != self.accepted + self.duplicates + self.quarantined:
            raise ReconciliationError(f"{where}: received {self.received} != accepted {self.accepted} + "
                                      f"duplicates {self.duplicates} + quarantined {self.quarantined}")
        return self

    def as_dict(self) -> dict:
        return {"received": self.received, "accepted": self.accepted, "duplicates": self.duplicates,
                "quarantined": self.quarantined}


def batch_id(source: str, interval: Interval) -> str:
    return f"{source}/{interval.key}"


# Fixed Parquet writer options, so equal tables give equal bytes: here and in Spark's executors, which get
# them passed in (spark_jobs.io.curated_writer).
PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True, "use_dictionary": True}


def parquet_bytes(table: pa.Table) -> bytes:
    """Parquet with fixed writer options, so equal tables give equal bytes."""
    buf = io.BytesIO()
    pq.write_table(table, buf, **PARQUET_OPTIONS)
    return buf.getvalue()


# --- extract --------------------------------------------------------------------------------------------

def extract_to_landing(lake: Lake, connector, interval: Interval) -> dict:
    """Pull every page for the interval and commit them to the landing zone as received."""
    source = connector.name
    prefix = layout.landing_api_prefix(source, interval)
    lines: list[bytes] = []
    records = 0
    for page in connector.pages(interval):
        # JSON allows raw newlines only as whitespace between tokens, so folding them keeps the body
        # byte-for-byte equivalent while making it one NDJSON line.
        lines.append(page.body.replace(b"\r\n", b" ").replace(b"\n", b" "))
        records += len(page.records)
    files = [
        StagedFile("landing", prefix, "ndjson.gz", gzip_deterministic(b"\n".join(chunk) + b"\n"), rows=len(chunk),
                   content_type="application/gzip")
        for chunk in (lines[i : i + PAGES_PER_LANDING_FILE] for i in range(0, len(lines), PAGES_PER_LANDING_FILE))
    ]
    manifest = commit_batch(
        lake,
        manifest_ref=layout.landing_manifest_ref(lake, source, interval),
        files=files,
        batch_prefixes=[("landing", prefix)],
        body={"zone": "landing", "kind": "api_pages", "source": source, "interval": interval.as_dict(),
              "pages": len(lines), "records": records},
    )
    log.info("extracted %s %s: %d pages, %d records", source, interval.key, len(lines), records)
    return {"source": source, "interval": interval.as_dict(), "pages": len(lines), "records": records,
            "http": vars(connector.client.stats) if hasattr(connector, "client") else {},
            "manifest": layout.landing_manifest_ref(lake, source, interval).uri, "files": len(manifest["files"])}


def landing_records(lake: Lake, source: str, interval: Interval) -> Iterable:
    """The records of a committed extraction, in the order the source served them."""
    manifest_ref = layout.landing_manifest_ref(lake, source, interval)
    if not lake.exists(manifest_ref):
        raise FileNotFoundError(f"no committed extraction for {source} {interval.key} at {manifest_ref.uri}; "
                                "run the extract step for this interval first")
    import gzip

    for f in lake.get_json(manifest_ref)["files"]:
        body = gzip.decompress(lake.get(lake.ref(f["zone"], f["key"])))
        for line in body.splitlines():
            if line.strip():
                yield from orjson.loads(line)["data"]


# --- load -----------------------------------------------------------------------------------------------

def _delivery_key(row: dict) -> tuple:
    updated = row["source_updated_at"]
    return (updated is None, updated.isoformat() if updated else "", row["payload"], row["source_extras"] or "")


def commit_raw_batch(lake: Lake, *, batch: str, rows: list[dict], quarantined: list[bytes], data_prefix: str,
                     manifest_ref, body: dict) -> dict:
    """Gate contract-v1 `rows` with the GX raw_events suite, then commit them (Parquet in raw/) and the
    `quarantined` lines (gzip NDJSON in quarantine/) under `data_prefix` as one batch; `body` plus the
    per-type counts and the gate result become the manifest. Nothing is committed when the gate fails."""
    table = pa.Table.from_pylist(sorted(rows, key=lambda r: (r["occurred_at"], r["event_id"])),
                                 schema=raw_event_arrow_schema())
    gate = validate("raw_events", table.to_pandas(), batch=batch, engine="pandas")
    lake.put(layout.validation_result_ref(lake, "raw_events", batch.replace("/", "__")), canonical_json(gate.as_dict()),
             "application/json")
    enforce(gate)
    files = [
        StagedFile("raw", data_prefix, "parquet", parquet_bytes(table.slice(i, ROWS_PER_RAW_FILE)),
                   rows=min(ROWS_PER_RAW_FILE, table.num_rows - i))
        for i in range(0, table.num_rows, ROWS_PER_RAW_FILE)
    ]
    if quarantined:
        files.append(StagedFile("quarantine", data_prefix, "ndjson.gz",
                                gzip_deterministic(b"\n".join(quarantined) + b"\n"), rows=len(quarantined),
                                content_type="application/gzip"))
    return commit_batch(lake, manifest_ref=manifest_ref, files=files,
                        batch_prefixes=[("raw", data_prefix), ("quarantine", data_prefix)], body={
        **body,
        "accepted_by_type": dict(sorted(Counter(r["event_type"] for r in rows).items())),
        "validation": {"suite": gate.suite, "success": gate.success, "evaluated": gate.evaluated},
    })


def late_event_stats(rows: list[dict], interval: Interval) -> dict:
    """Events that arrived in this batch but occurred before its interval began: they land in this batch's
    ingest_date partition (knowledge time), so signals as of earlier dates never see them."""
    late = [r["occurred_at"] for r in rows if r["occurred_at"] < interval.start]
    return {"late_events": len(late), "earliest_occurred_at": min(late).isoformat() if late else None}


def load_to_raw(
    lake: Lake,
    source: str,
    interval: Interval,
    pseudonymiser: Pseudonymiser,
    to_envelope: Callable[[object], object],
    records: Iterable | None = None,
) -> dict:
    """Normalise a committed extraction into the raw zone (with quarantine), gate it with GX, commit it."""
    bid = batch_id(source, interval)
    normaliser = Normaliser(source=source, batch_id=bid, ingested_at=interval.end, pseudonymiser=pseudonymiser)
    accepted: dict[str, dict] = {}
    quarantined: list[bytes] = []
    reasons: Counter[str] = Counter()
    received = duplicates = 0
    for record in landing_records(lake, source, interval) if records is None else records:
        received += 1
        result = normaliser.normalise(to_envelope(record))
        if isinstance(result, Rejection):
            reasons[result.reason] += 1
            # kept for debugging, but emails never leave the raw zone in clear
            quarantined.append(orjson.dumps(
                pseudonymiser.scrub({"batch_id": bid, "event_id": result.event_id, "reason": result.reason,
                                     "detail": result.detail, "record": record}),
                option=orjson.OPT_SORT_KEYS))
            continue
        kept = accepted.get(result["event_id"])
        if kept is not None:
            # Served twice within the interval. The earliest delivery wins, decided on content rather than on
            # arrival order, so a shuffled or re-paged stream commits the same bytes.
            duplicates += 1
            if _delivery_key(result) >= _delivery_key(kept):
                continue
        accepted[result["event_id"]] = result
    counts = BatchCounts(received, len(accepted), duplicates, len(quarantined)).check(bid)
    quarantined.sort()  # stream order must not change the quarantine file either

    rows = list(accepted.values())
    body = {
        "zone": "raw", "kind": "events", "source": source, "batch_id": bid, "interval": interval.as_dict(),
        "ingested_at": interval.end.isoformat(), "contract": "v1", "counts": counts.as_dict(),
        "quarantine_reasons": dict(sorted(reasons.items())),
        **late_event_stats(rows, interval),
    }
    commit_raw_batch(lake, batch=bid, rows=rows, quarantined=quarantined,
                     data_prefix=layout.raw_events_prefix(source, interval),
                     manifest_ref=layout.raw_manifest_ref(lake, source, interval), body=body)
    log.info("committed %s: %s", bid, counts.as_dict())
    return {"source": source, "batch_id": bid, "interval": interval.as_dict(), "counts": counts.as_dict(),
            "quarantine_reasons": body["quarantine_reasons"], "late_events": body["late_events"],
            "earliest_occurred_at": body["earliest_occurred_at"],
            "manifest": layout.raw_manifest_ref(lake, source, interval).uri}
