"""The executor-side curated writer (spark_jobs.io.curated_writer) against moto_server, with the manifest commit.

Tiny frames, real Spark (mapInArrow in Python workers), real S3 API: files are written by the executors under
`curated/<dataset>/as_of_date=D/`, the driver commits the manifest with storage.commit_uploaded. Checked: one
file per non-empty bucket, each listed with its true row count, size and hash; a rerun from differently
partitioned and ordered input writes the same keys, bytes and manifest; the files read back (through the job's
own S3 reader too) equal the frame; NOT NULL is enforced on the executors. Spark: the session's in-process
SparkSession (tests/conftest.py `spark`).
"""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hiring_signals.ingest import PARQUET_OPTIONS
from hiring_signals.storage import commit_uploaded, layout
from spark_jobs.io.curated_writer import Destination, write_dataset

pytestmark = pytest.mark.spark

AS_OF = date(2026, 6, 1)
DATASET = "writer_test"
SCHEMA = pa.schema([
    pa.field("candidate_ref", pa.string(), nullable=False),
    pa.field("signal", pa.string(), nullable=False),
    pa.field("value", pa.float64()),
    pa.field("evidence_count", pa.int64(), nullable=False),
    pa.field("reasons", pa.list_(pa.string())),
])
SORT_KEYS = ("candidate_ref", "signal")


def rows(n: int) -> pa.Table:
    return pa.table({
        "candidate_ref": [f"cand_{i // 3:05d}" for i in range(n)],
        "signal": [f"s{i % 3}" for i in range(n)],
        "value": [None if i % 11 == 0 else i / 7 for i in range(n)],
        "evidence_count": [i % 5 for i in range(n)],
        "reasons": [[f"r{i}", "why"] if i % 2 else [] for i in range(n)],
    }, schema=SCHEMA)


def prefix() -> str:
    return layout.curated_prefix(DATASET, AS_OF)


def write_and_commit(spark, lake, settings, table: pa.Table, buckets: int, *, partitions: int = 1,
                     reverse: bool = False, tasks: int | None = None) -> dict:
    """What the job does for one dataset: read the manifest's ETag, write from the executors, commit."""
    if reverse:
        table = table.take(pa.array(range(table.num_rows - 1, -1, -1)))
    frame = spark.createDataFrame(table).repartition(partitions)
    manifest_ref = lake.ref("curated", f"curated/_manifests/{DATASET}/as_of_date={AS_OF.isoformat()}.json")
    etag = lake.etag(manifest_ref)
    destination = Destination.s3(lake.bucket_for("curated"), settings.s3.arrow_fs_kwargs())
    written = write_dataset(frame, destination=destination, prefix=f"curated/{prefix()}", schema=SCHEMA,
                            dataset=DATASET, sort_keys=SORT_KEYS, bucket_keys=SORT_KEYS, buckets=buckets,
                            parquet_options=PARQUET_OPTIONS, tasks=tasks)
    listed = [{"zone": "curated", "bucket": destination.root, "key": w["key"], "rows": w["rows"],
               "bytes": w["bytes"], "sha256": w["sha256"]} for w in written]
    return commit_uploaded(lake, manifest_ref=manifest_ref, committed_etag=etag, listed=listed,
                           batch_prefixes=[("curated", prefix())],
                           body={"zone": "curated", "kind": DATASET, "as_of_date": AS_OF.isoformat(),
                                 "rows": sum(w["rows"] for w in written)})


def objects(lake) -> dict[str, bytes]:
    bucket = lake.bucket_for("curated")
    return {k: lake.get(lake.ref("curated", k)) for k in lake.list_keys(bucket, "curated/")}


def test_one_file_per_bucket_and_the_manifest_lists_each_truly(spark, lake, settings):
    manifest = write_and_commit(spark, lake, settings, rows(600), buckets=4)
    files = manifest["files"]
    assert len(files) == 4  # 600 distinct keys over 4 hash buckets: none empty
    assert [f["key"] for f in files] == sorted(f["key"] for f in files)
    assert [f["key"].rsplit("/", 1)[1][:10] for f in files] == [f"part-{b:05d}" for b in range(4)]
    stored = objects(lake)
    data_keys = sorted(k for k in stored if k.startswith(f"curated/{prefix()}/"))
    assert data_keys == [f["key"] for f in files]  # nothing else under the prefix
    for f in files:
        body = stored[f["key"]]
        assert f["bytes"] == len(body)
        assert f["sha256"] == hashlib.sha256(body).hexdigest()
        assert f["key"].endswith(f"-{f['sha256'][:20]}.parquet")
        table = pq.read_table(io.BytesIO(body))
        assert f["rows"] == table.num_rows > 0
        assert table.schema.equals(SCHEMA)
        keys = list(zip(table.column("candidate_ref").to_pylist(), table.column("signal").to_pylist()))
        assert keys == sorted(keys)  # sorted within the file
    assert sum(f["rows"] for f in files) == manifest["rows"] == 600


def test_rerun_from_other_partitioning_is_byte_identical(spark, lake, settings):
    first = write_and_commit(spark, lake, settings, rows(600), buckets=4, partitions=1)
    before = objects(lake)
    # different input order and partition count: the same buckets, rows, bytes, keys and manifest
    again = write_and_commit(spark, lake, settings, rows(600), buckets=4, partitions=5, reverse=True)
    assert again == first
    assert objects(lake) == before


def test_fewer_tasks_than_buckets_write_the_same_files(spark, lake, settings):
    """The small-input path: one or three tasks share four buckets; each bucket is still one whole file."""
    first = write_and_commit(spark, lake, settings, rows(600), buckets=4)
    before = objects(lake)
    for tasks in (1, 3):
        assert write_and_commit(spark, lake, settings, rows(600), buckets=4, partitions=2, tasks=tasks) == first
        assert objects(lake) == before
    with pytest.raises(ValueError, match="tasks must be between 1 and buckets"):
        write_and_commit(spark, lake, settings, rows(6), buckets=4, tasks=5)


def test_dataset_larger_than_one_bucket_reads_back_equal(spark, lake, settings):
    from spark_jobs.io.s3_arrow_source import S3Object, read_parquet_arrow

    table = rows(2_000)
    manifest = write_and_commit(spark, lake, settings, table, buckets=3, partitions=2)
    assert len(manifest["files"]) == 3 and max(f["rows"] for f in manifest["files"]) < table.num_rows
    read = pa.concat_tables(pq.read_table(io.BytesIO(lake.get(lake.ref("curated", f["key"]))))
                            for f in manifest["files"])
    order = [(k, "ascending") for k in SORT_KEYS]
    assert read.sort_by(order).equals(table.sort_by(order))
    # and through the job's own reader (what read_state and any Spark consumer use)
    frame = read_parquet_arrow(spark, "candidate_ref string, signal string, value double, evidence_count long, "
                                      "reasons array<string>", settings.s3.arrow_fs_kwargs(),
                               [S3Object(f"{f['bucket']}/{f['key']}", f["bytes"]) for f in manifest["files"]])
    assert sorted(frame.collect(), key=lambda r: (r.candidate_ref, r.signal)) == \
        [tuple(r.values()) for r in table.sort_by(order).to_pylist()]


def test_shrinking_dataset_removes_files_the_manifest_no_longer_lists(spark, lake, settings):
    write_and_commit(spark, lake, settings, rows(600), buckets=4)
    manifest = write_and_commit(spark, lake, settings, rows(3), buckets=4)  # one candidate: fewer buckets
    assert sum(f["rows"] for f in manifest["files"]) == 3 and len(manifest["files"]) < 4
    data_keys = sorted(k for k in objects(lake) if k.startswith(f"curated/{prefix()}/"))
    assert data_keys == [f["key"] for f in manifest["files"]]


def test_empty_dataset_commits_no_files(spark, lake, settings):
    manifest = write_and_commit(spark, lake, settings, rows(0), buckets=4)
    assert manifest["files"] == [] and manifest["rows"] == 0


def test_null_in_not_null_column_fails_on_the_executor(spark, lake, settings):
    table = rows(10)
    broken = table.set_column(3, pa.field("evidence_count", pa.int64()), pa.array([None] + list(range(9))))
    frame = spark.createDataFrame(broken)
    with pytest.raises(Exception, match="evidence_count is declared NOT NULL"):
        write_dataset(frame, destination=Destination.s3(lake.bucket_for("curated"), settings.s3.arrow_fs_kwargs()),
                      prefix=f"curated/{prefix()}", schema=SCHEMA, dataset=DATASET, sort_keys=SORT_KEYS,
                      bucket_keys=SORT_KEYS, buckets=2, parquet_options=PARQUET_OPTIONS)
