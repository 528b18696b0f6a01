"""Atomic, idempotent batch commits on an object store that has no transactions.

A batch (one source, one data interval) is committed in three steps:
  1. data files are uploaded under the batch's own prefix, named by a hash of their content;
  2. the manifest listing exactly those files is written with one PUT: that PUT is the commit;
  3. files under the batch prefix that the manifest does not list (a crashed attempt, an older version of
     the batch) are deleted.
Readers go through manifests, never through listings, so a half-written attempt is never visible. Because
names are content hashes and the manifest is canonical JSON without wall-clock fields, rerunning an
interval over the same input leaves the zone byte-for-byte identical.

Two writers of one batch at once (a manual rerun racing the scheduled run) are resolved optimistically: the
manifest PUT is conditional on the manifest being unchanged since the writer started (If-Match / If-None-Match).
The first commit wins; the loser keeps the winner's manifest when it lists the same files (the usual case: same
input, same bytes) and otherwise fails with ConcurrentCommit, so the task retries on what is now there. Only the
winner garbage-collects, and the loser removes only files of its own that the winner does not list.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timezone

from hiring_signals.storage.lake import Lake, ObjectRef, PreconditionFailed, canonical_json, utc_key

MANIFEST_VERSION = 1


class ConcurrentCommit(RuntimeError):
    """Another writer committed this batch with different content while this one was writing."""


@dataclass(frozen=True)
class Interval:
    """A half-open data interval [start, end) in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self):
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval bounds must be timezone-aware")
        if not self.start < self.end:
            raise ValueError(f"empty interval: {self.start} .. {self.end}")

    @property
    def key(self) -> str:
        return f"{utc_key(self.start)}_{utc_key(self.end)}"

    @property
    def ingest_date(self) -> date:
        return self.start.astimezone(timezone.utc).date()

    @classmethod
    def parse_key(cls, key: str) -> "Interval":
        start, end = key.split("_")
        fmt = "%Y%m%dT%H%M%SZ"
        return cls(
            datetime.strptime(start, fmt).replace(tzinfo=timezone.utc),
            datetime.strptime(end, fmt).replace(tzinfo=timezone.utc),
        )

    def as_dict(self) -> dict:
        return {"start": self.start.astimezone(timezone.utc).isoformat(), "end": self.end.astimezone(timezone.utc).isoformat()}


@dataclass(frozen=True)
class StagedFile:
    """A file to commit: where (zone and prefix inside it) and what."""

    zone: str
    prefix: str  # inside the zone, e.g. "events/source=marketplace/ingest_date=2026-05-01/batch=<key>"
    extension: str  # "parquet", "ndjson.gz"
    body: bytes
    rows: int
    content_type: str = "application/octet-stream"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def key(self) -> str:
        return f"{self.zone}/{self.prefix}/part-{self.sha256[:20]}.{self.extension}"


def commit_batch(
    lake: Lake,
    *,
    manifest_ref: ObjectRef,
    files: list[StagedFile],
    batch_prefixes: list[tuple[str, str]],
    body: dict,
) -> dict:
    """Upload `files`, commit the manifest, then remove superseded files under `batch_prefixes`.

    `batch_prefixes` are (zone, prefix) pairs that belong to this batch alone; everything under them that the
    new manifest does not list is garbage by definition.
    """
    committed_etag = lake.etag(manifest_ref)  # what this writer replaces; the commit is conditional on it
    listed = []
    for f in files:
        ref = lake.ref(f.zone, f.key)
        lake.put(ref, f.body, f.content_type)
        listed.append({"zone": f.zone, "bucket": ref.bucket, "key": ref.key, "rows": f.rows,
                       "bytes": len(f.body), "sha256": f.sha256})
    return commit_uploaded(lake, manifest_ref=manifest_ref, committed_etag=committed_etag, listed=listed,
                           batch_prefixes=batch_prefixes, body=body)


def commit_uploaded(
    lake: Lake,
    *,
    manifest_ref: ObjectRef,
    committed_etag: str | None,
    listed: list[dict],
    batch_prefixes: list[tuple[str, str]],
    body: dict,
) -> dict:
    """Steps 2 and 3 of a commit whose data files are already uploaded (by Spark's executors, say).

    `committed_etag`: the manifest's ETag (None: absent) read BEFORE the files were uploaded, i.e. what this
    writer started from; `listed`: one entry per uploaded file (zone, bucket, key, rows, bytes, sha256), the
    manifest's "files". Same conditional PUT, same loser clean-up, same garbage collection as commit_batch.
    """
    manifest = {"manifest_version": MANIFEST_VERSION, **body, "files": sorted(listed, key=lambda x: x["key"])}
    try:
        lake.put_if(manifest_ref, canonical_json(manifest), etag=committed_etag, content_type="application/json")
    except PreconditionFailed:
        winner = lake.get_json(manifest_ref)
        winner_files = {(x["bucket"], x["key"]) for x in winner.get("files", [])}
        own = [(x["bucket"], x["key"]) for x in listed if (x["bucket"], x["key"]) not in winner_files]
        for bucket in {b for b, _ in own}:
            lake.delete_keys(bucket, [k for b, k in own if b == bucket])
        if winner == manifest:
            return winner
        raise ConcurrentCommit(f"{manifest_ref.uri} was committed by another run with different content while this "
                               "run was writing; nothing of this run is visible. Rerun to rebuild from what is there now.")

    keep = {(x["bucket"], x["key"]) for x in listed}
    for zone, prefix in batch_prefixes:
        bucket = lake.bucket_for(zone)
        stale = [k for k in lake.list_keys(bucket, f"{zone}/{prefix.rstrip('/')}/") if (bucket, k) not in keep]
        lake.delete_keys(bucket, stale)
    return manifest


def read_manifests(lake: Lake, zone: str, prefix: str) -> list[dict]:
    """Every committed manifest under `zone/prefix`, in key order."""
    bucket = lake.bucket_for(zone)
    keys = sorted(k for k in lake.list_keys(bucket, f"{zone}/{prefix.rstrip('/')}/") if k.endswith(".json"))
    return [lake.get_json(ObjectRef(bucket, k)) for k in keys]
