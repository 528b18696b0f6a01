"""Deterministic Parquet datasets written by Spark's executors, committed by the driver (the curated zone's writer).

Why: collecting a curated dataset to the driver (`frame.toArrow()`) to write it there stops scaling long before
the data does: at 10^7 raw events candidate_signals is ~7.6M rows with their plain-language reasons, 1.4 GiB of
serialized results, and the driver ran out of heap (6g) or of spark.driver.maxResultSize (9g). Here every
executor writes its own share straight to the store and returns one small row per file; the driver only sees
that metadata and commits the manifest exactly as before (hiring_signals.storage.batches: files first, then the
manifest PUT as the commit, then garbage collection of unlisted files under the prefix).

Determinism (a rerun, local[2] or a cluster of any size must write the same bytes under the same keys):
- rows go to one of `buckets` buckets by a hash of the dataset's key columns (Spark's Murmur3 `hash`, the
  same function `repartition(n, cols)` partitions by): which rows share a file depends on the data and the
  bucket count only, never on the number of cores, executors, input splits or shuffle partitions;
- within a bucket the Python worker sorts the rows itself (pyarrow, the key columns and then every other
  column of a sortable type as tie-breakers), so row order does not depend on shuffle fetch order;
- each non-empty bucket becomes one Parquet file written with the caller's fixed writer options from one
  combined chunk (page layout follows chunking), named `part-<bucket, 5 digits>-<sha256[:20]>.parquet`:
  the bucket number keeps the manifest (sorted by key) in bucket order, the content hash makes a file name
  name its bytes, so a task retry or a speculative copy rewrites the same key with the same bytes, and a
  changed file can never be mistaken for the committed one. Empty buckets write nothing.
- the bucket count is a setting (HS_CURATED_BUCKETS), not derived from the cluster: it is part of the
  output's identity (changing it changes the files, never the rows).

The module is shipped to the Python workers by value (cloudpickle), like the S3 reader: executors need only
pyarrow and pyspark, not this repository. It therefore imports nothing from the project; what it must agree
on with the rest of the project (schema, sort keys, Parquet options, store location) is passed in.
"""

from __future__ import annotations

import hashlib
import io
import sys
from dataclasses import dataclass

import pyarrow as pa

BUCKET_COLUMN = "_hs_bucket"
# One row per written file, returned to the driver: all it needs for the manifest.
WRITTEN_SCHEMA = "bucket int, key string, rows long, bytes long, sha256 string"


@dataclass(frozen=True)
class Destination:
    """Where files go: `filesystem` 's3' (pyarrow S3FileSystem with `filesystem_kwargs`, e.g.
    S3Settings.arrow_fs_kwargs()) or 'local' (a directory, for benchmarks); `root` is the bucket (s3) or the
    directory (local); keys are relative to it. Plain values only: it is pickled into the executors' closure."""

    filesystem: str
    root: str
    filesystem_kwargs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def s3(cls, bucket: str, filesystem_kwargs: dict) -> "Destination":
        return cls("s3", bucket, tuple(sorted((k, v) for k, v in filesystem_kwargs.items() if v is not None)))

    @classmethod
    def local(cls, directory: str) -> "Destination":
        return cls("local", str(directory).rstrip("/"))

    def open(self):
        import pyarrow.fs as pafs

        if self.filesystem == "s3":
            return pafs.S3FileSystem(**dict(self.filesystem_kwargs))
        if self.filesystem == "local":
            return pafs.LocalFileSystem()
        raise ValueError(f"unknown filesystem {self.filesystem!r}; 's3' or 'local'")

    def path(self, key: str) -> str:
        return f"{self.root}/{key}"


def part_key(prefix: str, bucket: int, sha256: str) -> str:
    return f"{prefix.rstrip('/')}/part-{bucket:05d}-{sha256[:20]}.parquet"


def _sortable(data_type: pa.DataType) -> bool:
    return not (pa.types.is_nested(data_type) or pa.types.is_dictionary(data_type))


def conform(table: pa.Table, schema: pa.Schema, dataset: str) -> pa.Table:
    """`table` in `schema` (column order and types), refusing nulls in NOT NULL columns (a cast would not)."""
    table = table.select(schema.names)
    for field in schema:
        nulls = table.column(field.name).null_count
        if not field.nullable and nulls:
            raise ValueError(f"{dataset}.{field.name} is declared NOT NULL but has {nulls} null(s)")
    return table.cast(schema)


def sort_rows(table: pa.Table, sort_keys: tuple[str, ...]) -> pa.Table:
    """Rows ordered by `sort_keys`, ties broken by every other column of a sortable (flat) type, so that the
    order depends on the rows alone and not on the order Spark delivered them in."""
    import pyarrow.compute as pc

    keys = list(sort_keys) + [f.name for f in table.schema if f.name not in sort_keys and _sortable(f.type)]
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys], null_placement="at_start")
    return table.take(order)


def encode(table: pa.Table, parquet_options: dict) -> bytes:
    """Parquet bytes of `table` from a single chunk with the fixed writer options."""
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table.combine_chunks(), buf, **parquet_options)
    return buf.getvalue()


def _partition_writer(destination: Destination, prefix: str, schema: pa.Schema, dataset: str,
                      sort_keys: tuple[str, ...], parquet_options: dict):
    """The mapInArrow function: one Spark partition's rows in, one metadata row per bucket file out."""

    def write(batches):
        import pyarrow.compute as pc

        batches = list(batches)
        rows = sum(b.num_rows for b in batches)
        if not rows:
            return
        table = pa.Table.from_batches(batches)
        buckets = table.column(BUCKET_COLUMN).combine_chunks()
        filesystem = destination.open()
        # Normally one bucket per partition (the partitioning hashes exactly like the bucket column); grouping
        # here keeps the output right whatever partitioning delivered the rows.
        for bucket in sorted(pc.unique(buckets).to_pylist()):
            part = conform(table.filter(pc.equal(buckets, bucket)), schema, dataset)
            body = encode(sort_rows(part, sort_keys), parquet_options)
            sha256 = hashlib.sha256(body).hexdigest()
            key = part_key(prefix, bucket, sha256)
            if destination.filesystem == "local":  # object stores have no directories to create (S3 would get markers)
                filesystem.create_dir(destination.path(key).rsplit("/", 1)[0], recursive=True)
            with filesystem.open_output_stream(destination.path(key)) as out:
                out.write(body)
            yield pa.RecordBatch.from_pydict(
                {"bucket": [bucket], "key": [key], "rows": [part.num_rows], "bytes": [len(body)], "sha256": [sha256]},
                schema=pa.schema([("bucket", pa.int32()), ("key", pa.string()), ("rows", pa.int64()),
                                  ("bytes", pa.int64()), ("sha256", pa.string())]))

    return write


def write_dataset(frame, *, destination: Destination, prefix: str, schema: pa.Schema, dataset: str,
                  sort_keys: tuple[str, ...], bucket_keys: tuple[str, ...], buckets: int,
                  parquet_options: dict, tasks: int | None = None) -> list[dict]:
    """Write `frame` as at most `buckets` Parquet files under `prefix` from the executors.

    `schema`: the Arrow schema the files must have (columns are selected and cast to it, NOT NULL enforced);
    `sort_keys`: row order within a file; `bucket_keys`: the columns hashed into buckets (the dataset's key,
    or its sort key: anything spreading rows evenly). Returns one dict per file (bucket, key, rows, bytes,
    sha256), sorted by key. Runs one Spark job; the data never passes through the driver.

    `tasks` (default `buckets`): how many write tasks share the buckets. Every bucket's rows still go to one
    task and one file, so the files do not depend on it; fewer tasks than buckets saves a Python worker
    round trip per task (~70 ms each in local mode, even for an empty partition) where the data is small.
    """
    from pyspark import cloudpickle
    from pyspark.sql import functions as F

    if buckets < 1:
        raise ValueError(f"buckets must be >= 1, got {buckets}")
    missing = [c for c in (*sort_keys, *bucket_keys) if c not in schema.names]
    if missing:
        raise ValueError(f"{dataset}: sort/bucket key column(s) {missing} are not in its schema")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    tasks = buckets if tasks is None else tasks
    if not 1 <= tasks <= buckets:
        raise ValueError(f"tasks must be between 1 and buckets ({buckets}), got {tasks}")
    bucketed = (frame.select(*schema.names)
                .withColumn(BUCKET_COLUMN, F.pmod(F.hash(*bucket_keys), F.lit(buckets))))
    # An explicit partition count: adaptive execution never coalesces such a repartition. With as many tasks as
    # buckets and the same columns, Spark's partition id equals the bucket (one task writes one bucket); with
    # fewer, partitioning on the bucket itself keeps each bucket's rows in one task.
    bucketed = (bucketed.repartition(buckets, *bucket_keys) if tasks == buckets
                else bucketed.repartition(tasks, BUCKET_COLUMN))
    writer = _partition_writer(destination, prefix, schema, dataset, tuple(sort_keys), dict(parquet_options))
    written = [row.asDict() for row in bucketed.mapInArrow(writer, WRITTEN_SCHEMA).collect()]
    keys = [w["key"] for w in written]
    if len(set(keys)) != len(keys) or len({w["bucket"] for w in written}) != len(written):
        # A bucket written twice (two partitions holding rows of one bucket) would split it into two files
        # with the same bucket number: refuse rather than commit a dataset whose layout depends on scheduling.
        raise RuntimeError(f"{dataset}: a bucket was written by more than one task: {sorted(keys)}")
    return sorted(written, key=lambda w: w["key"])
