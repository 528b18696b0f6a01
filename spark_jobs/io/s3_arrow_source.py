"""Parquet on S3 for Spark without Hadoop S3A: a Spark 4 Python Data Source over pyarrow's S3 client.

Why: Spark's own s3a:// needs hadoop-aws and the AWS SDK jars on every JVM's classpath; the embedded set-up
(and many locked-down machines) has no Maven access. pyarrow ships a native S3 client, so the Python workers
can fetch and decode the Parquet objects themselves and hand Spark Arrow RecordBatches (no row-by-row
Python, no UDF).

Design
- The driver decides *what* to read: the caller passes the explicit list of objects (from the batch
  manifests, with their sizes); the source never lists the bucket, so a half-written batch is never seen.
- `partitions()` packs consecutive files into groups of at most `max_partition_bytes` (a file bigger than
  that is a partition of its own): one Spark task per group, so small daily batches do not become hundreds
  of tiny tasks, and a big backfill still spreads over the cluster.
- `read()` runs in an executor's Python worker: it opens each object with pyarrow.fs.S3FileSystem built
  from the options, streams its row groups (`iter_batches`) and conforms every batch to the requested
  schema *exactly* (names, order, Arrow types, nullability and the UTC time zone of timestamps): Spark
  rejects a batch whose Arrow schema differs in any of these (DATA_SOURCE_RETURN_SCHEMA_MISMATCH).
- Options are plain strings (Spark lower-cases option keys, so they are lower_snake_case). They carry the
  endpoint, scheme, region and, for the embedded moto endpoint only, its placeholder credentials; against
  a real store no secret is put in the options (they would show up in plans and logs): each worker's
  pyarrow uses the standard AWS credential chain (environment, instance profile, IRSA...).
- The module is registered with cloudpickle *by value*, so executors need pyarrow and pyspark only: no
  --py-files and no project code on a cluster's workers for the read path (the transforms run in the JVM).

The `s3a` alternative (HS_SPARK_S3_IMPL=s3a) is `read_parquet_s3a()`: Spark's native reader on the same
file list, for clusters that do have hadoop-aws.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Iterator, Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition

FORMAT_NAME = "hs_s3_parquet"
DEFAULT_MAX_PARTITION_BYTES = 128 * 1024 * 1024
DEFAULT_BATCH_ROWS = 65_536
# pyarrow.fs.S3FileSystem keyword arguments the options may carry (see S3Settings.arrow_fs_kwargs()).
FILESYSTEM_OPTIONS = ("endpoint_override", "scheme", "region", "access_key", "secret_key")


@dataclass(frozen=True)
class S3Object:
    """One Parquet object to read: `path` in pyarrow.fs form ("bucket/key") and its size in bytes."""

    path: str
    size: int


@dataclass(frozen=True)
class FileGroup(InputPartition):
    """One Spark input partition: the objects one task reads, in order."""

    paths: tuple[str, ...]


def pack_files(objects: Sequence[S3Object], max_bytes: int) -> list[tuple[str, ...]]:
    """Consecutive objects grouped so that no group exceeds `max_bytes` (unless one object alone does)."""
    groups: list[tuple[str, ...]] = []
    current: list[str] = []
    size = 0
    for obj in objects:
        if current and size + obj.size > max_bytes:
            groups.append(tuple(current))
            current, size = [], 0
        current.append(obj.path)
        size += obj.size
    if current:
        groups.append(tuple(current))
    return groups


def source_options(filesystem_kwargs: dict, objects: Sequence[S3Object],
                   max_partition_bytes: int = DEFAULT_MAX_PARTITION_BYTES,
                   batch_rows: int = DEFAULT_BATCH_ROWS) -> dict[str, str]:
    """The data source's string options for `objects` on the store `filesystem_kwargs` describes."""
    unknown = set(filesystem_kwargs) - set(FILESYSTEM_OPTIONS)
    if unknown:
        raise ValueError(f"unsupported S3FileSystem option(s) {sorted(unknown)}; supported: {FILESYSTEM_OPTIONS}")
    options = {key: str(value) for key, value in filesystem_kwargs.items() if value is not None}
    options["objects"] = json.dumps([[o.path, o.size] for o in objects])
    options["max_partition_bytes"] = str(max_partition_bytes)
    options["batch_rows"] = str(batch_rows)
    return options


def _filesystem(options: dict):
    import pyarrow.fs as pafs

    return pafs.S3FileSystem(**{key: options[key] for key in FILESYSTEM_OPTIONS if key in options})


def _conform(batch, target):
    """`batch` with exactly the target's columns, order and types (cast also sets nullability flags)."""
    return batch.select(target.names).cast(target)


class S3ParquetReader(DataSourceReader):
    def __init__(self, options: dict, schema):
        self.options = options  # pickled to the executors: plain strings only
        self.schema = schema

    def partitions(self) -> list[FileGroup]:
        objects = [S3Object(path, size) for path, size in json.loads(self.options["objects"])]
        return [FileGroup(paths) for paths in pack_files(objects, int(self.options["max_partition_bytes"]))]

    def read(self, partition: FileGroup) -> Iterator:
        import pyarrow.parquet as pq
        from pyspark.sql.pandas.types import to_arrow_schema

        target = to_arrow_schema(self.schema, timezone="UTC")
        filesystem = _filesystem(self.options)
        batch_rows = int(self.options["batch_rows"])
        for path in partition.paths:
            with filesystem.open_input_file(path) as handle:
                parquet = pq.ParquetFile(handle)
                for batch in parquet.iter_batches(batch_size=batch_rows, columns=target.names):
                    yield _conform(batch, target)


class S3ParquetDataSource(DataSource):
    """spark.read.format("hs_s3_parquet").schema(DDL).options(**source_options(...)).load()"""

    @classmethod
    def name(cls) -> str:
        return FORMAT_NAME

    def schema(self):
        raise ValueError(f"{FORMAT_NAME} needs an explicit schema: .schema(<DDL or StructType>)")

    def reader(self, schema) -> S3ParquetReader:
        return S3ParquetReader(dict(self.options), schema)


def register(spark: SparkSession) -> None:
    """Register the source on `spark`, shipping this module by value to the Python workers."""
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    spark.dataSource.register(S3ParquetDataSource)


def read_parquet_arrow(spark: SparkSession, schema_ddl: str, filesystem_kwargs: dict, objects: Sequence[S3Object],
                       max_partition_bytes: int = DEFAULT_MAX_PARTITION_BYTES) -> DataFrame:
    """`objects` (explicitly listed, never discovered) as one DataFrame with the given schema."""
    if not objects:  # Spark refuses a data source with zero partitions; an empty input is an empty frame
        return spark.createDataFrame([], schema_ddl)
    register(spark)
    return (spark.read.format(FORMAT_NAME)
            .schema(schema_ddl)
            .options(**source_options(filesystem_kwargs, objects, max_partition_bytes))
            .load())


def read_parquet_s3a(spark: SparkSession, schema_ddl: str, objects: Sequence[S3Object]) -> DataFrame:
    """HS_SPARK_S3_IMPL=s3a: Spark's native Parquet reader on the same explicit file list.

    Needs hadoop-aws and the AWS SDK on the classpath and the fs.s3a.* settings from
    spark_jobs.session.s3a_conf(); not testable without those jars, so deliberately this small.
    """
    if not objects:
        return spark.createDataFrame([], schema_ddl)
    return spark.read.schema(schema_ddl).parquet(*[f"s3a://{o.path}" for o in objects])
