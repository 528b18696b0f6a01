"""Ingestion of contract-recruiter file drops: exactly the landed files named, one raw batch per file.

    landing/drops/agency=A/<file>  --parse (agency profile)--> envelopes / rejections
        --> contract v1 --> duplicates (in the file; events already committed from an earlier file)
        --> quarantine with reasons --> GX raw_events gate --> atomic raw commit of the file's batch
        --> durable ingestion state (event-id index, content index, done marker)

Where things live (lake bucket; F = file id, D = the file's received date, A = agency):
  landing/drops/agency=A/<name>                                  the file as received (never modified)
  raw/events/source=recruiter/ingest_date=D/batch=F/part-*.parquet accepted events (contract v1)
  quarantine/events/source=recruiter/ingest_date=D/batch=F/...    rejected rows: reason, detail, line, no names
  raw/_manifests/drops/source=recruiter/ingest_date=D/F.json      the commit of file F (also for a file that
                                                                  was all duplicates: no data files, counts)
  ops/state/drops/event-index/agency=A/shard=X.json              event id -> file id that committed it
  ops/state/drops/content/sha256=<hex>.json                      bytes -> the first file that had them
  ops/state/drops/files/F.json                                   done marker: the state above includes F
  ops/validations/raw_events/recruiter__F.json                   GX result

F = `<agency>__<file name stem>__<sha256(key)[:10]>`: one landed object, one batch. Landing is write-once per
key: an object whose bytes change after it was ingested is refused (`LandingChanged`), so re-sends must use
a new name (agencies' own practice: `..._resend.csv`, `... (1).csv`).

Order of writes per file: raw data files, the manifest PUT (the commit), then the state. A crash before
the manifest leaves nothing visible and the file is ingested again; a crash after it is rolled forward
(`roll_forward`, run at the start of every ingestion) from the manifest, so the state never misses a
committed file. Files are processed in arrival order (received-at, key), one writer at a time (the Airflow
DAG runs one at a time; don't run the CLI concurrently with it).

Knowledge time: `ingested_at` of every row is the file's arrival, read from the object metadata
`received-at` (RFC 3339, set by the drop gateway - or by the simulator replaying months of drops at once);
without it, the object's LastModified. Recruiter batches are not data intervals: they are kept out of
raw/_manifests/events/ (which `pipeline.committed_intervals` reads), and recruiter drops do not gate the
completeness watermark (keep `recruiter` out of HS_SOURCES: agencies drop irregularly and late).

Counts per file reconcile: received (data rows in the file) = accepted + duplicates + quarantined.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone

import orjson
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from hiring_signals.contract import Normaliser, Rejection
from hiring_signals.identity import Pseudonymiser
from hiring_signals.ingest import BatchCounts, commit_raw_batch
from hiring_signals.quality.gates import deferred_data_docs
from hiring_signals.sources.recruiter import SOURCE_NAME, DropFileError, UnknownAgency, parse_drop_file, profile
from hiring_signals.storage import Lake, ObjectRef, PreconditionFailed, commit_batch
from hiring_signals.storage.lake import canonical_json

log = logging.getLogger(__name__)

SOURCE = SOURCE_NAME
LANDING_PREFIX = "landing/drops/"
# The event-id index is sharded by the first hex digit of sha256(event id): 16 objects per agency.
_AGENCY_KEY = re.compile(r"^landing/drops/agency=([^/]+)/(.+)$")
_COUNT_KEYS = ("received", "accepted", "duplicates", "quarantined")


class NotADropKey(ValueError):
    """The key is not a landed drop file (landing/drops/agency=<a>/<name>)."""


class LandingChanged(RuntimeError):
    """A landed object's bytes changed after it was ingested; landing is write-once per key."""


class DropIngestionFailed(RuntimeError):
    def __init__(self, result: dict):
        self.result = result
        lines = [f"{len(result['errors'])} drop file(s) could not be ingested:"]
        lines += [f"  - {e['key']}: {e['error']}" for e in result["errors"]]
        super().__init__("\n".join(lines))


# --- layout ---------------------------------------------------------------------------------------------

def agency_of(key: str) -> str:
    match = _AGENCY_KEY.match(key)
    if not match or key.endswith("/"):
        raise NotADropKey(f"{key!r} is not a drop file key (expected {LANDING_PREFIX}agency=<agency>/<file>)")
    return match.group(1)


def file_id_for(key: str) -> str:
    agency = agency_of(key)
    name = key.rsplit("/", 1)[1]
    stem = name.split(".", 1)[0] if not name.startswith(".") else name
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_")[:80] or "file"
    return f"{agency}__{safe}__{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def batch_id_for(file_id: str) -> str:
    return f"{SOURCE}/{file_id}"


def raw_prefix(file_id: str, received_date: date) -> str:
    return f"events/source={SOURCE}/ingest_date={received_date.isoformat()}/batch={file_id}"


def manifests_prefix() -> str:
    return f"_manifests/drops/source={SOURCE}/"


def manifest_ref(lake: Lake, file_id: str, received_date: date) -> ObjectRef:
    return lake.ref("raw", f"{manifests_prefix()}ingest_date={received_date.isoformat()}/{file_id}.json")


def done_ref(lake: Lake, file_id: str) -> ObjectRef:
    return lake.ref("ops", f"state/drops/files/{file_id}.json")


def content_ref(lake: Lake, sha256: str) -> ObjectRef:
    return lake.ref("ops", f"state/drops/content/sha256={sha256}.json")


def event_index_ref(lake: Lake, agency: str, shard: str) -> ObjectRef:
    return lake.ref("ops", f"state/drops/event-index/agency={agency}/shard={shard}.json")


def _get_json_or_none(lake: Lake, ref: ObjectRef):
    try:
        return lake.get_json(ref)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise


# --- state ----------------------------------------------------------------------------------------------

class ConcurrentIngestion(RuntimeError):
    """Another process changed the drops' ingestion state meanwhile; retrying rolls forward from what is there."""


class EventIndex:
    """Which file committed each recruiter event id, per agency (event ids are agency-scoped), sharded so a
    file touches at most 16 small objects. The first file to commit an event owns it. Shards are written
    with a conditional PUT against the version read, so a second writer fails loudly instead of losing ids."""

    def __init__(self, lake: Lake, agency: str):
        self.lake, self.agency = lake, agency
        self._shards: dict[str, dict[str, str]] = {}
        self._etags: dict[str, str | None] = {}
        self._dirty: set[str] = set()

    @staticmethod
    def shard_of(event_id: str) -> str:
        return hashlib.sha256(event_id.encode()).hexdigest()[0]

    def _shard(self, shard: str) -> dict[str, str]:
        if shard not in self._shards:
            ref = event_index_ref(self.lake, self.agency, shard)
            try:
                response = self.lake.client.get_object(Bucket=ref.bucket, Key=ref.key)
                self._shards[shard], self._etags[shard] = orjson.loads(response["Body"].read()), response["ETag"]
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in {"404", "NoSuchKey", "NotFound"}:
                    raise
                self._shards[shard], self._etags[shard] = {}, None
        return self._shards[shard]

    def owner(self, event_id: str) -> str | None:
        return self._shard(self.shard_of(event_id)).get(event_id)

    def claim(self, event_ids, file_id: str) -> None:
        for event_id in event_ids:
            shard = self.shard_of(event_id)
            entries = self._shard(shard)
            if event_id not in entries:
                entries[event_id] = file_id
                self._dirty.add(shard)

    def flush(self) -> None:
        for shard in sorted(self._dirty):
            ref = event_index_ref(self.lake, self.agency, shard)
            try:
                self._etags[shard] = self.lake.put_if(ref, canonical_json(self._shards[shard]), etag=self._etags[shard],
                                                      content_type="application/json")
            except PreconditionFailed as exc:
                raise ConcurrentIngestion(f"{ref.uri} was changed by another ingestion of recruiter drops; only one "
                                          "may run at a time (the DAG runs one at a time: is the CLI running too?)") from exc
        self._dirty.clear()


def _complete(lake: Lake, manifest: dict, manifest_key: str, event_ids: list[str]) -> None:
    """Record a committed file in the ingestion state (idempotent; the done marker is written last)."""
    f = manifest["file"]
    index = EventIndex(lake, f["agency"])
    index.claim(event_ids, f["file_id"])
    index.flush()
    try:  # the first file with these bytes keeps the entry
        lake.put_if(content_ref(lake, f["sha256"]),
                    canonical_json({"sha256": f["sha256"], "file_id": f["file_id"], "key": f["key"]}), etag=None,
                    content_type="application/json")
    except PreconditionFailed:
        pass
    lake.put(done_ref(lake, f["file_id"]), canonical_json({
        "file": f, "status": manifest["status"], "duplicate_of": manifest.get("duplicate_of"),
        "counts": manifest["counts"], "manifest": manifest_key,
    }), "application/json")


def _committed_event_ids(lake: Lake, manifest: dict) -> list[str]:
    ids: list[str] = []
    for f in manifest["files"]:
        if f["zone"] == "raw":
            table = pq.read_table(io.BytesIO(lake.get(ObjectRef(f["bucket"], f["key"]))), columns=["event_id"])
            ids.extend(table.column("event_id").to_pylist())
    return ids


def roll_forward(lake: Lake) -> list[str]:
    """Complete the state of files whose batch was committed but whose state was not (a crash in between)."""
    bucket = lake.bucket_for("ops")
    done = {k.rsplit("/", 1)[1].removesuffix(".json") for k in lake.list_keys(bucket, "ops/state/drops/files/")}
    repaired = []
    for key in sorted(lake.list_keys(lake.bucket_for("raw"), "raw/" + manifests_prefix())):
        file_id = key.rsplit("/", 1)[1].removesuffix(".json")
        if file_id in done:
            continue
        manifest = lake.get_json(ObjectRef(lake.bucket_for("raw"), key))
        _complete(lake, manifest, key, _committed_event_ids(lake, manifest))
        repaired.append(file_id)
        log.warning("rolled forward the ingestion state of %s (its batch was committed, its state was not)", file_id)
    return repaired


# --- one file -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LandedFile:
    bucket: str
    key: str
    agency: str
    file_id: str
    received_at: datetime
    received_at_source: str  # "metadata" | "last-modified"
    etag: str
    size: int


def _parse_received_at(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        raise ValueError(f"received-at {value!r} has no UTC offset")
    return parsed.astimezone(timezone.utc)


def landed_file(lake: Lake, key: str) -> LandedFile:
    agency = agency_of(key)
    bucket = lake.bucket_for("landing")
    head = lake.client.head_object(Bucket=bucket, Key=key)
    metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    if metadata.get("received-at"):
        try:
            received_at, origin = _parse_received_at(metadata["received-at"]), "metadata"
        except ValueError as exc:
            raise DropFileError(f"object metadata received-at of {key!r} is not RFC 3339: {exc}") from None
    else:
        received_at, origin = head["LastModified"].astimezone(timezone.utc), "last-modified"
    return LandedFile(bucket, key, agency, file_id_for(key), received_at, origin, head.get("ETag", "").strip('"'),
                      int(head.get("ContentLength", 0)))


def _file_info(lf: LandedFile, sha256: str) -> dict:
    p = profile(lf.agency)
    return {"bucket": lf.bucket, "key": lf.key, "agency": lf.agency, "file_id": lf.file_id, "sha256": sha256,
            "etag": lf.etag, "bytes": lf.size, "received_at": lf.received_at.isoformat(),
            "received_at_from": lf.received_at_source, "format": p.format, "encoding": p.encoding}


def _result(lf: LandedFile, status: str, counts: dict, **extra) -> dict:
    return {"key": lf.key, "agency": lf.agency, "file_id": lf.file_id, "received_at": lf.received_at.isoformat(),
            "status": status, "counts": counts, **extra}


def ingest_file(lake: Lake, lf: LandedFile, pseudonymiser: Pseudonymiser) -> dict:
    """Ingest one landed file (idempotent). Raises UnknownAgency / DropFileError / LandingChanged for
    problems of the whole file; everything about single rows ends in the counts and the quarantine."""
    profile(lf.agency)  # an unknown agency fails before anything is read
    done = _get_json_or_none(lake, done_ref(lake, lf.file_id))
    body = None
    if done is not None:
        if done["file"]["etag"] != lf.etag:
            body = lake.get(ObjectRef(lf.bucket, lf.key))
            if hashlib.sha256(body).hexdigest() != done["file"]["sha256"]:
                raise LandingChanged(f"{lf.key} changed after it was ingested as {lf.file_id}; landing is write-once "
                                     "per key: drop the corrected file under a new name")
        return _result(lf, "already_ingested", {k: 0 for k in _COUNT_KEYS}, previously=done["status"],
                       manifest=f"s3://{lake.bucket_for('raw')}/{done['manifest']}")

    body = body if body is not None else lake.get(ObjectRef(lf.bucket, lf.key))
    sha256 = hashlib.sha256(body).hexdigest()
    rows = list(parse_drop_file(lf.agency, body))
    bid = batch_id_for(lf.file_id)
    received_date = lf.received_at.date()
    data_prefix = raw_prefix(lf.file_id, received_date)
    mref = manifest_ref(lake, lf.file_id, received_date)
    info = _file_info(lf, sha256)
    base = {"zone": "raw", "kind": "events", "source": SOURCE, "batch_id": bid, "file": info,
            "ingested_at": lf.received_at.isoformat(), "contract": "v1"}

    first = _get_json_or_none(lake, content_ref(lake, sha256))
    if first is not None and first["file_id"] != lf.file_id:
        # The same bytes were committed from another key: every row is a duplicate; record it, commit nothing.
        counts = BatchCounts(len(rows), 0, len(rows), 0).check(bid).as_dict()
        manifest = commit_batch(lake, manifest_ref=mref, files=[], body={
            **base, "status": "duplicate_file", "duplicate_of": first["key"], "counts": counts,
            "quarantine_reasons": {}, "accepted_by_type": {}, "duplicates_of": {first["file_id"]: len(rows)},
            "validation": None}, batch_prefixes=[("raw", data_prefix), ("quarantine", data_prefix)])
        _complete(lake, manifest, mref.key, [])
        log.info("%s repeats %s byte for byte: %d duplicate rows", lf.key, first["key"], len(rows))
        return _result(lf, "duplicate_file", counts, duplicate_of=first["key"], manifest=mref.uri)

    normaliser = Normaliser(source=SOURCE, batch_id=bid, ingested_at=lf.received_at, pseudonymiser=pseudonymiser)
    index = EventIndex(lake, lf.agency)
    accepted: dict[str, dict] = {}
    quarantined: list[bytes] = []
    reasons: Counter[str] = Counter()
    duplicates_of: Counter[str] = Counter()
    duplicates = 0
    for row in rows:
        result = row.result if isinstance(row.result, Rejection) else normaliser.normalise(row.result)
        if isinstance(result, Rejection):
            reasons[result.reason] += 1
            # names never reach the record (the parser drops them); emails become candidate refs
            quarantined.append(orjson.dumps(pseudonymiser.scrub({
                "batch_id": bid, "event_id": result.event_id, "reason": result.reason, "detail": result.detail,
                "landing": {"bucket": lf.bucket, "key": lf.key, "line": row.line, "end_line": row.end_line},
                "record": row.fields,
            }), option=orjson.OPT_SORT_KEYS))
            continue
        event_id = result["event_id"]
        owner = index.owner(event_id)
        if event_id in accepted:
            duplicates += 1
            duplicates_of[lf.file_id] += 1
        elif owner is not None and owner != lf.file_id:
            duplicates += 1  # committed from an earlier file (a re-send, an overlapping export): first one wins
            duplicates_of[owner] += 1
        else:
            accepted[event_id] = result
    counts = BatchCounts(len(rows), len(accepted), duplicates, len(quarantined)).check(bid)

    manifest = commit_raw_batch(lake, batch=bid, rows=list(accepted.values()), quarantined=quarantined,
                                data_prefix=data_prefix, manifest_ref=mref, body={
        **base, "status": "ingested", "duplicate_of": None, "counts": counts.as_dict(),
        "quarantine_reasons": dict(sorted(reasons.items())),
        "duplicates_of": dict(sorted(duplicates_of.items())),
    })
    _complete(lake, manifest, mref.key, sorted(accepted))
    log.info("committed %s (%s): %s", bid, lf.key, counts.as_dict())
    return _result(lf, "ingested", counts.as_dict(), quarantine_reasons=dict(sorted(reasons.items())),
                   manifest=mref.uri)


# --- many files -----------------------------------------------------------------------------------------

def ingest_drop_keys(lake: Lake, keys, pseudonymiser: Pseudonymiser, *, strict: bool = False) -> dict:
    """Ingest exactly the landed files `keys` (in arrival order), each as its own batch.

    Returns per-file results and totals. A file that cannot be ingested as a whole (unknown agency, a header
    the profile does not match, a missing or changed object) is reported under `errors` and left in landing,
    un-ingested, for a later attempt; with `strict` a DropIngestionFailed is raised after the other files.
    """
    repaired = roll_forward(lake)
    errors: list[dict] = []
    landed: list[LandedFile] = []
    for key in dict.fromkeys(keys):
        try:
            landed.append(landed_file(lake, key))
        except (NotADropKey, DropFileError) as exc:
            errors.append({"key": key, "error": str(exc), "type": type(exc).__name__})
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in {"404", "NoSuchKey", "NotFound"}:
                raise
            errors.append({"key": key, "error": "no such object in landing (deleted after it was announced?)",
                           "type": "NoSuchKey"})
    files = []
    with deferred_data_docs():
        for lf in sorted(landed, key=lambda f: (f.received_at, f.key)):
            try:
                files.append(ingest_file(lake, lf, pseudonymiser))
            except (UnknownAgency, DropFileError, LandingChanged) as exc:
                errors.append({"key": lf.key, "error": str(exc), "type": type(exc).__name__})
                log.error("could not ingest %s: %s", lf.key, exc)
    fresh = [f for f in files if f["status"] in {"ingested", "duplicate_file"}]
    result = {
        "source": SOURCE,
        "files": files,
        "errors": errors,
        "repaired": repaired,
        "totals": {
            "files": len(files),
            "ingested": sum(f["status"] == "ingested" for f in files),
            "duplicate_files": sum(f["status"] == "duplicate_file" for f in files),
            "already_ingested": sum(f["status"] == "already_ingested" for f in files),
            "failed": len(errors),
            **{k: sum(f["counts"][k] for f in fresh) for k in _COUNT_KEYS},
        },
    }
    if strict and errors:
        raise DropIngestionFailed(result)
    return result


def landed_keys(lake: Lake) -> list[str]:
    return sorted(k for k in lake.list_keys(lake.bucket_for("landing"), LANDING_PREFIX)
                  if not k.endswith("/") and _AGENCY_KEY.match(k))


def pending_keys(lake: Lake) -> list[str]:
    """Landed drop files not ingested yet: what a lost (or not yet processed) notification left behind."""
    done = {k.rsplit("/", 1)[1].removesuffix(".json")
            for k in lake.list_keys(lake.bucket_for("ops"), "ops/state/drops/files/")}
    committed = {k.rsplit("/", 1)[1].removesuffix(".json")
                 for k in lake.list_keys(lake.bucket_for("raw"), "raw/" + manifests_prefix())}
    return [k for k in landed_keys(lake) if file_id_for(k) not in done | committed]


def sweep(lake: Lake, pseudonymiser: Pseudonymiser, *, strict: bool = False) -> dict:
    """Ingest every landed file no notification has brought in (the daily safety net)."""
    keys = pending_keys(lake)
    result = ingest_drop_keys(lake, keys, pseudonymiser, strict=strict)
    result["swept"] = keys
    return result


def drop_manifests(lake: Lake, until: date | None = None) -> list[dict]:
    """Committed recruiter batches (every landed file once), optionally only those received before `until`."""
    out = []
    for key in sorted(lake.list_keys(lake.bucket_for("raw"), "raw/" + manifests_prefix())):
        received = date.fromisoformat(key.split("/ingest_date=", 1)[1][:10])
        if until is None or received < until:
            out.append(lake.get_json(ObjectRef(lake.bucket_for("raw"), key)))
    return out


def reconcile(lake: Lake) -> dict:
    """Landing -> raw reconciliation over every committed recruiter file."""
    manifests = drop_manifests(lake)
    totals = {k: sum(m["counts"][k] for m in manifests) for k in _COUNT_KEYS}
    BatchCounts(**totals).check("recruiter drops")
    return {"files": len(manifests), "pending": len(pending_keys(lake)), **totals,
            "quarantine_reasons": dict(sorted(sum((Counter(m["quarantine_reasons"]) for m in manifests), Counter()).items()))}


# --- CLI ------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    from hiring_signals.config import load_settings
    from hiring_signals.pipeline import dumps

    parser = argparse.ArgumentParser(prog="python -m hiring_signals.drops", description="Recruiter file drops.")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="ingest exactly these landed keys")
    ingest.add_argument("keys", nargs="+")
    sub.add_parser("sweep", help="ingest every landed file not ingested yet (lost notifications)")
    sub.add_parser("pending", help="list landed files not ingested yet")
    sub.add_parser("reconcile", help="landing -> raw counts over every committed drop")
    sub.add_parser("setup-notifications", help="create the SQS queue and the bucket's object-created routing")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    lake = Lake(settings.s3)
    if args.command == "setup-notifications":
        from hiring_signals.storage.notifications import ensure_drop_notifications

        print(dumps(ensure_drop_notifications(settings)))
        return 0
    if args.command == "pending":
        print("\n".join(pending_keys(lake)))
        return 0
    if args.command == "reconcile":
        print(dumps(reconcile(lake)))
        return 0
    pseudonymiser = Pseudonymiser(settings.pseudonym_key())
    result = (ingest_drop_keys(lake, args.keys, pseudonymiser) if args.command == "ingest"
              else sweep(lake, pseudonymiser))
    print(dumps(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
