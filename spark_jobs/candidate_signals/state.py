"""Incremental candidate signals: a mergeable entity state, persisted per as-of date.

API (job.py and benchmarks/ use exactly these):

    build_state(raw_events, as_of_end) -> SignalState
        The state of every raw row read: the de-duplicated known events folded into the entity tables
        (transforms.STATE_FOLDS), their key index and the rows read but not known yet (`pending`).
    merge_state(previous, delta_raw_events, as_of_end) -> SignalState
        previous (a state as of an earlier as_of_end) plus raw rows it has not seen. Raises DedupeConflict
        when a newly known delivery of an already known event would have won the full path's de-duplication
        (the merged state could not equal a rebuild); the job then falls back to a full rebuild.
    datasets_from_state(state, as_of_date, as_of_end, params) -> {"candidate_signals", "engagements", "candidates"}
        The curated datasets (Spark DataFrames); the only place as_of_end-relative values are computed.
    state_table(frame, name) -> pyarrow.Table: one state table collected in deterministic order (tests and
        benchmarks on small data; the job writes from the executors instead);
    state_from_tables(spark, {name: pyarrow.Table}, as_of_end) -> SignalState: back as fresh DataFrames
        (what a run reading a persisted state sees; use it between chained merges to cut the lineage).
    write_state(lake, state, as_of_date, as_of_end, body, destination=, buckets=) / read_state(spark, settings, manifest)
    / write_table_files(frame, name, destination=, prefix=, buckets=): one table's files, uncommitted (benchmarks)
    / previous_state_manifest(lake, as_of_date): persistence through the curated zone's manifest commits.

Why incremental equals full, for the same as_of_end:
- full:         known = dedupe(known_as_of(all rows));                  state = fold(known)
- incremental:  known' = dedupe(known_as_of(delta rows + pending)) minus keys already known;
                state = fold(fold(previous known) + fold(known'))
  The entity folds are min / max / sum / set union or append-only rows, so folding in two parts equals folding
  once (transforms, "entity state"). What remains is that the two event sets are the same:
  * every raw row is either in the key index (known, the winning delivery), in `pending` (read, not known
    yet: occurred_at >= as_of_end or ingested_at > as_of_end), or dropped as a redelivery of an indexed key;
    a pending row is re-examined at every later as_of_end, exactly as a rebuild would see it;
  * de-duplication keeps the earliest (ingested_at, batch_id) delivery of (source, event_id). A redelivery
    ingested later than the indexed winner is dropped, as in a rebuild. One ingested earlier can only be a
    pending row that became known after a later delivery did (or a raw batch committed late); then the winner
    changes retroactively, which no fold can undo: merge_state raises DedupeConflict instead of diverging.
  * the delta is "raw objects the previous state has not consumed" (the state manifest lists the content-
    hashed object keys it consumed); if an object it consumed is no longer planned, the raw zone changed
    under it and the job rebuilds (job.choose_computation).
Activity older than the 90-day window is pruned from the state: as_of_end only moves forward, so it can
never count again. tests/integration/test_incremental_signals.py checks incremental == full, day by day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import ArrayType, DataType, StructField, StructType

from hiring_signals.contract.curated_schema import FEATURE_VERSION, RUBRIC_VERSION
from hiring_signals.contract.raw_schema import raw_event_spark_ddl
from hiring_signals.contract.vocabulary import VOCABULARY_VERSION
from hiring_signals.ingest import PARQUET_OPTIONS
from hiring_signals.storage import Lake, commit_batch, commit_uploaded
from hiring_signals.storage import layout
from spark_jobs.candidate_signals import transforms as t
from spark_jobs.io.curated_writer import Destination, write_dataset
from spark_jobs.io.s3_arrow_source import S3Object, read_parquet_arrow, read_parquet_s3a
from spark_jobs.session import run_concurrently

log = logging.getLogger("hs.spark.candidate_signals.state")

# Bump when a fold, a projection or a state table changes: a state of another version is never merged.
STATE_VERSION = "signal-state-v1"
KEY_COLUMNS = ("source", "event_id", "ingested_at", "batch_id")
TABLES = ("keys", "pending", *t.STATE_FOLDS)
# Row order of each persisted table (deterministic bytes): the fold keys, else these.
_APPEND_ORDER = {
    "keys": ("source", "event_id"),
    "pending": ("source", "event_id", "ingested_at", "batch_id"),
    "responses": ("candidate_ref", "response_us"),
    "feedback": (*t.PAIR_KEY, "event_id"),
}
# Deltas up to this many rows are broadcast against the key index and the state tables, so those are scanned,
# not shuffled.
BROADCAST_DELTA_ROWS = 2_000_000


class DedupeConflict(RuntimeError):
    """A newly known delivery precedes the indexed winner of its event: only a rebuild gives the right answer."""


@dataclass
class SignalState:
    """The entity state as of `as_of_end`: TABLES as Spark DataFrames, and what the last merge did."""

    as_of_end: datetime
    tables: dict[str, DataFrame]
    delta: dict = field(default_factory=dict)
    # Frames the tables are derived from: build_state's de-duplicated known events, merge_state's (already cached)
    # delta frames. cache() caches them too, since materialising the cached tables one by one would otherwise redo
    # the raw read and de-duplication per table; unpersist() releases them with the tables.
    shared: tuple[DataFrame, ...] = ()

    @property
    def entity(self) -> dict[str, DataFrame]:
        return {name: self.tables[name] for name in t.STATE_FOLDS}

    def cache(self) -> "SignalState":
        for frame in self.shared:
            if not frame.is_cached:
                frame.cache()
        return SignalState(self.as_of_end, {name: frame.cache() for name, frame in self.tables.items()}, self.delta,
                           self.shared)

    def unpersist(self) -> None:
        for frame in (*self.tables.values(), *self.shared):
            frame.unpersist()


def _is_known(as_of_end: datetime):
    end = F.lit(as_of_end)
    return (F.col("occurred_at") < end) & (F.col("ingested_at") <= end)


def _check_end(as_of_end: datetime) -> None:
    if as_of_end.tzinfo is None:
        raise ValueError("as_of_end must be timezone-aware (UTC)")


def _nullable(data_type: DataType) -> DataType:
    """`data_type` with every nested field nullable: Arrow refuses a null struct whose children are declared
    NOT NULL (min/max of a conditional struct is exactly that)."""
    if isinstance(data_type, StructType):
        return StructType([StructField(f.name, _nullable(f.dataType), True) for f in data_type.fields])
    if isinstance(data_type, ArrayType):
        return ArrayType(_nullable(data_type.elementType), True)
    return data_type


def _conform(frame: DataFrame, schema: StructType) -> DataFrame:
    return frame.select(*[F.col(f.name).cast(_nullable(f.dataType)).alias(f.name) for f in schema.fields])


def _conformed(tables: dict[str, DataFrame], schemas: dict[str, StructType]) -> dict[str, DataFrame]:
    """Every table in its state schema's column order and types, so states union and persist alike."""
    return {name: _conform(tables[name], schemas[name]) for name in TABLES}


def state_schemas(spark: SparkSession) -> dict[str, StructType]:
    """The Spark schema of each state table, derived (analysis only, no job) from the raw-event contract."""
    empty = spark.createDataFrame([], raw_event_spark_ddl())
    tables = {"keys": empty.select(*KEY_COLUMNS), "pending": empty, **t.entity_state(empty)}
    return {name: StructType([StructField(f.name, _nullable(f.dataType), f.nullable)
                              for f in tables[name].schema.fields]) for name in TABLES}


def build_state(raw_events: DataFrame, as_of_end: datetime) -> SignalState:
    """The state of every row in `raw_events` (raw-zone columns), as of `as_of_end`."""
    _check_end(as_of_end)
    known = t.dedupe_events(raw_events.where(_is_known(as_of_end)))
    tables = {"keys": known.select(*KEY_COLUMNS), "pending": raw_events.where(~_is_known(as_of_end)),
              **t.entity_state(known, as_of_end)}
    return SignalState(as_of_end, _conformed(tables, state_schemas(raw_events.sparkSession)),
                       {"mode": "full"}, shared=(known,))


def merge_state(previous: SignalState, delta_raw_events: DataFrame, as_of_end: datetime) -> SignalState:
    """`previous` plus raw rows it has not consumed (`delta_raw_events`), as of `as_of_end` (>= previous's).

    Runs a few Spark actions on delta-sized frames (counts, the conflict check); the returned tables are lazy.
    """
    _check_end(as_of_end)
    if as_of_end < previous.as_of_end:
        raise ValueError(f"cannot merge a state as of {previous.as_of_end.isoformat()} into an earlier "
                         f"as_of_end {as_of_end.isoformat()}")
    spark = delta_raw_events.sparkSession
    schemas = state_schemas(spark)
    delta_rows = delta_raw_events.select(*schemas["pending"].names).cache()
    rows_read = delta_rows.count()
    candidates = delta_rows.unionByName(previous.tables["pending"]).cache()
    fresh = t.dedupe_events(candidates.where(_is_known(as_of_end))).cache()
    fresh_rows = fresh.count()
    fresh_keys = fresh.select(*t.EVENT_KEY, F.col("ingested_at").alias("new_ingested_at"),
                              F.col("batch_id").alias("new_batch_id"))
    if fresh_rows <= BROADCAST_DELTA_ROWS:
        fresh_keys = F.broadcast(fresh_keys)
    indexed = previous.tables["keys"].join(fresh_keys, on=list(t.EVENT_KEY), how="inner").cache()
    precedes = (F.col("new_ingested_at") < F.col("ingested_at")) | (
        (F.col("new_ingested_at") == F.col("ingested_at")) & (F.col("new_batch_id") <= F.col("batch_id")))
    conflicts = indexed.where(precedes).limit(5).collect()
    if conflicts:
        for frame in (indexed, fresh, candidates, delta_rows):
            frame.unpersist()
        examples = ", ".join(f"{r['source']}/{r['event_id']} (indexed {r['batch_id']}, new {r['new_batch_id']})"
                             for r in conflicts)
        raise DedupeConflict(f"newly known deliveries precede the indexed first delivery of their event: {examples}")
    redeliveries = indexed.count()
    new_events = fresh.join(indexed.select(*t.EVENT_KEY), on=list(t.EVENT_KEY), how="left_anti")
    tables = {
        "keys": previous.tables["keys"].unionByName(new_events.select(*KEY_COLUMNS)),
        "pending": candidates.where(~_is_known(as_of_end)),
        **t.merge_entity_state(previous.entity, t.entity_state(new_events), as_of_end,
                               broadcast_delta=fresh_rows <= BROADCAST_DELTA_ROWS),
    }
    delta = {
        "mode": "incremental",
        "previous_as_of_end": previous.as_of_end.isoformat(),
        "rows_read": rows_read,
        "pending_before": previous.delta.get("pending_rows"),
        "newly_known_rows": fresh_rows,
        "redeliveries_dropped": redeliveries,
        "new_events": fresh_rows - redeliveries,
    }
    return SignalState(as_of_end, _conformed(tables, schemas), delta, shared=(delta_rows, candidates, fresh, indexed))


def datasets_from_state(state: SignalState, as_of_date: date, as_of_end: datetime,
                        params: t.SignalParams = t.SignalParams()) -> dict[str, DataFrame]:
    """The three curated datasets (Spark DataFrames) from the state."""
    if as_of_end != state.as_of_end:
        raise ValueError(f"state is as of {state.as_of_end.isoformat()}, not {as_of_end.isoformat()}")
    entity = state.entity
    return {
        "candidate_signals": t.candidate_signals_from_state(entity, as_of_date, as_of_end, params),
        "engagements": t.engagements_from_state(entity, as_of_date),
        "candidates": t.candidates_from_state(entity, as_of_date),
    }


# --- persistence ----------------------------------------------------------------------------------------

def _sort_keys(name: str) -> tuple[str, ...]:
    return _APPEND_ORDER.get(name) or t.STATE_FOLDS[name].keys


def state_table(frame: DataFrame, name: str) -> pa.Table:
    """A state table collected as Arrow in deterministic row order (same rows, same bytes)."""
    table = _conform(frame, frame.schema).toArrow()
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in _sort_keys(name)])
    return table.take(order).combine_chunks()


def state_compatibility() -> dict:
    """What a persisted state must match to be merged into (recorded in its manifest)."""
    return {"state_version": STATE_VERSION, "feature_version": FEATURE_VERSION,
            "vocabulary_version": VOCABULARY_VERSION, "rubric_version": RUBRIC_VERSION}


def write_table_files(frame: DataFrame, name: str, *, destination: Destination, prefix: str, buckets: int,
                      tasks: int | None = None) -> list[dict]:
    """Upload one state table from the executors as `buckets` hash buckets of its sort key (one sorted Parquet
    file per non-empty bucket) under `prefix`; returns the writer's per-file metadata (nothing is committed)."""
    keys = _sort_keys(name)
    return write_dataset(frame, destination=destination, prefix=prefix,
                         schema=to_arrow_schema(frame.schema, timezone="UTC"), dataset=f"state/{name}",
                         sort_keys=keys, bucket_keys=keys, buckets=buckets, parquet_options=PARQUET_OPTIONS,
                         tasks=tasks)


def write_state(lake: Lake, state: SignalState, as_of_date: date, as_of_end: datetime, body: dict, *,
                destination: Destination, buckets: int, tasks: int | None = None) -> dict:
    """Commit every state table, then the state manifest that makes them one state (committed last).

    The executors write each table (spark_jobs.io.curated_writer: `buckets` hash buckets of its sort key, one
    sorted Parquet file per non-empty bucket) straight to `destination` (the curated zone's bucket); only
    per-file metadata reaches the driver, which commits the table's manifest as every zone does.
    """
    def write_table(name: str) -> dict:
        prefix = layout.state_prefix(name, as_of_date)
        manifest_ref = layout.state_manifest_ref(lake, name, as_of_date)
        etag = lake.etag(manifest_ref)  # what this commit replaces, read before the upload
        written = write_table_files(state.tables[name], name, destination=destination, prefix=f"curated/{prefix}",
                                    buckets=buckets, tasks=tasks)
        listed = [{"zone": "curated", "bucket": destination.root, "key": w["key"], "rows": w["rows"],
                   "bytes": w["bytes"], "sha256": w["sha256"]} for w in written]
        rows = sum(w["rows"] for w in written)
        manifest = commit_uploaded(lake, manifest_ref=manifest_ref, committed_etag=etag, listed=listed,
                                   batch_prefixes=[("curated", prefix)],
                                   body={"zone": "curated", "kind": "signal_state_table", "table": name,
                                         "as_of_date": as_of_date.isoformat(), "rows": rows})
        return {"rows": rows, "files": [{"bucket": f["bucket"], "key": f["key"], "bytes": f["bytes"]}
                                        for f in manifest["files"]]}

    # The tables are independent until the state manifest ties them: written and committed concurrently.
    committed = run_concurrently(write_table, TABLES)
    return commit_batch(lake, manifest_ref=layout.state_commit_ref(lake, as_of_date), files=[], batch_prefixes=[],
                        body={"zone": "curated", "kind": "signal_state", "as_of_date": as_of_date.isoformat(),
                              "as_of_end": as_of_end.isoformat(), **state_compatibility(), **body,
                              "tables": committed})


def state_from_tables(spark: SparkSession, tables: dict[str, pa.Table], as_of_end: datetime,
                      delta: dict | None = None) -> SignalState:
    """A state from its collected tables (state_table), as a run reading it back would see it: a fresh plan,
    so chained merges (benchmarks, tests) do not grow one ever longer lineage."""
    schemas = state_schemas(spark)
    frames = {name: (spark.createDataFrame(tables[name]) if tables[name].num_rows
                     else spark.createDataFrame([], schemas[name])) for name in TABLES}
    return SignalState(as_of_end, _conformed(frames, schemas),
                       {"pending_rows": tables["pending"].num_rows, **(delta or {})})


def previous_state_manifest(lake: Lake, as_of_date: date) -> dict | None:
    """The committed state manifest of the latest as-of date before `as_of_date`, if any."""
    bucket = lake.bucket_for("curated")
    prefix = f"curated/{layout.STATE_COMMITS_PREFIX}"
    dates = sorted(date.fromisoformat(key[len(prefix):len(prefix) + 10]) for key in lake.list_keys(bucket, prefix))
    earlier = [d for d in dates if d < as_of_date]
    return lake.get_json(layout.state_commit_ref(lake, earlier[-1])) if earlier else None


def read_state(spark: SparkSession, settings, manifest: dict) -> SignalState:
    """A committed state back as Spark DataFrames (through the same readers as the raw zone)."""
    schemas = state_schemas(spark)
    tables = {}
    for name in TABLES:
        objects = [S3Object(f"{f['bucket']}/{f['key']}", int(f["bytes"])) for f in manifest["tables"][name]["files"]]
        if settings.spark_s3_impl == "s3a":
            tables[name] = read_parquet_s3a(spark, schemas[name], objects)
        else:
            tables[name] = read_parquet_arrow(spark, schemas[name], settings.s3.arrow_fs_kwargs(), objects)
    as_of_end = datetime.fromisoformat(manifest["as_of_end"]).astimezone(timezone.utc)
    return SignalState(as_of_end, _conformed(tables, schemas),
                       {"pending_rows": manifest["tables"]["pending"]["rows"]})
