"""Load curated snapshots (Spark's Parquet outputs) into the warehouse's landing schema, idempotently.

Layout (created on first use):

    <schema>_landing.curated_<dataset>   one table per curated dataset, columns exactly CURATED_SCHEMAS[dataset]
    <schema>_landing.load_log            one row per (dataset, as_of_date) partition: row_count, content_sha256,
                                         loaded_at, load_id

    <schema>_landing.raw_events          committed raw batches (contract v1 columns, RAW_EVENT_COLUMNS), all sources
    <schema>_landing.raw_load_log        one row per raw batch loaded: source, row_count, content_sha256, loaded_at
    <schema>_landing.snapshot_raw_batches  (as_of_date, batch_id): the raw batches a curated snapshot was built from

`load_curated_snapshot` replaces one as_of_date partition: DELETE WHERE as_of_date = X, INSERT the new rows and
upsert the load_log row, all in ONE transaction, so a rerun of the same day leaves the table row-for-row identical
and readers never see a half-loaded day. `load_log` is the warehouse's own record of what was loaded and when: dbt
reads it for source freshness, for choosing the newest *complete* snapshot, and for deciding which partitions the
incremental history model must rebuild. It records empty partitions too (a day with no engagements is loaded, not
missing).

load_log has two kinds of columns. `loaded_at` (wall clock) and `load_id` (uuid4) are audit data: they change on
every load and are read only for source freshness; they must never reach a mart. `content_sha256` identifies
WHAT was loaded (`content_sha256()`): reloading the same partition records the same hash, so dbt keys its change
detection on it and a rerun of the same interval leaves every mart row-for-row identical.

`load_raw_batches` is the EL of the raw zone: each committed raw batch is replaced as a whole (DELETE WHERE
batch_id = X, INSERT, upsert its raw_load_log row) in one transaction. A batch's content_sha256 is computed from
its manifest (the sha256 of every committed file) before any data is read, so a batch already loaded with the
same hash is skipped without downloading it: a nightly load reads the new batches only. It also records which
batches each curated snapshot read (snapshot_raw_batches), so dbt rebuilds exactly the event set Spark saw.

Backends:
- DuckDB through the duckdb Python API (the Arrow table is registered as a view, no copy). DuckDB allows ONE
  writer process per database file: a process holding a connection (this loader, dbt, a notebook) locks the file
  against every other process. Connections here are opened per call and closed at once; do not keep
  `warehouse_connection()` open while dbt runs in another process.
- PostgreSQL through ADBC (adbc_driver_postgresql): the Arrow table is bulk-copied (binary COPY) into a temporary
  table, then INSERT ... SELECT into the landing table inside the same transaction. A transaction-scoped advisory
  lock per landing table serialises concurrent loads into it (without it, two READ COMMITTED
  transactions could both delete and both insert, duplicating the day).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from hiring_signals.config import WarehouseSettings
from hiring_signals.contract.curated_schema import CURATED_SCHEMAS
from hiring_signals.contract.raw_schema import raw_event_arrow_schema
from hiring_signals.identity import EMAIL_IN_TEXT  # the pattern the edge scrubs with, so both agree

LOAD_LOG_TABLE = "load_log"
RAW_EVENTS_TABLE = "raw_events"
RAW_LOAD_LOG_TABLE = "raw_load_log"
SNAPSHOT_BATCHES_TABLE = "snapshot_raw_batches"

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WarehouseLoadError(RuntimeError):
    """A curated snapshot cannot be loaded; the message says which dataset and why."""


def landing_table_name(dataset: str) -> str:
    return f"curated_{dataset}"


def _ident(name: str) -> str:
    """Quote an identifier after checking it is a plain one (schema names come from configuration)."""
    if not _IDENT.match(name):
        raise WarehouseLoadError(f"invalid SQL identifier {name!r}: use letters, digits and underscores")
    return f'"{name}"'


def _qualified(schema: str, table: str) -> str:
    return f"{_ident(schema)}.{_ident(table)}"


def sql_type(arrow_type: pa.DataType) -> str:
    """The SQL type a landing column gets; the names are valid on both DuckDB and PostgreSQL."""
    if pa.types.is_timestamp(arrow_type):
        if arrow_type.tz is None:
            return "TIMESTAMP"
        return "TIMESTAMP WITH TIME ZONE"
    if pa.types.is_date32(arrow_type) or pa.types.is_date64(arrow_type):
        return "DATE"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_int32(arrow_type):
        return "INTEGER"
    if pa.types.is_int16(arrow_type):
        return "SMALLINT"
    if pa.types.is_float64(arrow_type):
        return "DOUBLE PRECISION"
    if pa.types.is_float32(arrow_type):
        return "REAL"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "TEXT"
    raise WarehouseLoadError(f"no SQL type mapping for Arrow type {arrow_type}")


def _create_table_sql(qualified: str, schema: pa.Schema) -> str:
    cols = ",\n  ".join(
        f"{_ident(f.name)} {sql_type(f.type)}{'' if f.nullable else ' NOT NULL'}" for f in schema
    )
    return f"CREATE TABLE IF NOT EXISTS {qualified} (\n  {cols}\n)"


def _load_log_sql(qualified: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {qualified} (\n"
        "  dataset TEXT NOT NULL,\n"
        "  as_of_date DATE NOT NULL,\n"
        "  row_count BIGINT NOT NULL,\n"
        "  content_sha256 TEXT NOT NULL,\n"
        "  loaded_at TIMESTAMP WITH TIME ZONE NOT NULL,\n"
        "  load_id TEXT NOT NULL\n"
        ")"
    )


def _zero(arrow_type: pa.DataType) -> pa.Scalar:
    """The fill value for null slots: "" for strings, False for booleans, all-zero bytes for fixed-width types."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pa.scalar("", arrow_type)
    if pa.types.is_boolean(arrow_type):
        return pa.scalar(False)
    zero_bytes = pa.py_buffer(bytes(arrow_type.bit_width // 8))
    return pa.Array.from_buffers(arrow_type, 1, [None, zero_bytes])[0]


def _canonical(table: pa.Table) -> pa.Table:
    """`table` with a byte layout fixed by its content: the input of content_sha256's IPC stream.

    Arrow leaves the bytes under a null slot undefined (the Parquet reader leaves other rows' values there), and
    validity bitmaps may carry stray bits past the end. So every column becomes two null-free columns: its
    values with nulls filled by a fixed zero (`_zero`) and an int8 null mask; booleans are stored as int8 too.
    Chunks are combined into one (the number of files and row groups a partition was read from is layout).
    """
    table = table.replace_schema_metadata(None).combine_chunks()
    names, arrays = [], []
    for field, column in zip(table.schema, table.columns):
        values = column.chunk(0) if column.num_chunks else pa.array([], field.type)
        filled = pc.fill_null(values, _zero(field.type))
        if pa.types.is_boolean(field.type):
            filled = pc.cast(filled, pa.int8())
        names += [field.name, f"{field.name}:is_null"]
        arrays += [filled, pc.cast(pc.is_null(values), pa.int8())]
    return pa.Table.from_arrays(arrays, names=names)


def content_sha256(table: pa.Table) -> str:
    """Deterministic SHA-256 (hex) of a curated partition's content: the Arrow IPC stream of the table, canonicalised.

    The curated files are written sorted deterministically, so the rows are hashed in the order given (no sort
    here; a reordered partition counts as changed, which only costs a rebuild). The bytes hashed depend on the
    content alone: the stream is written from `_canonical(table)` (nulls filled plus explicit null masks, one
    chunk, no schema metadata) as ONE record batch, or none for an empty partition; the IPC writer emits
    fixed-size buffers truncated to the rows and zero padding. So the same rows with the same schema hash the
    same whether they come from memory or from Parquet, however chunked, and any change to a value, a null, a
    row or a column name or type changes the hash. Call it with the table cast to CURATED_SCHEMAS[dataset].
    """
    canonical = _canonical(table)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, canonical.schema) as writer:
        if canonical.num_rows:
            writer.write_batch(canonical.to_batches()[0])
    return hashlib.sha256(sink.getvalue()).hexdigest()


def _check_schema(dataset: str, table: pa.Table) -> pa.Schema:
    if dataset not in CURATED_SCHEMAS:
        raise WarehouseLoadError(f"unknown curated dataset {dataset!r}; known: {sorted(CURATED_SCHEMAS)}")
    expected = CURATED_SCHEMAS[dataset]
    actual = table.schema
    if actual.equals(expected, check_metadata=False):
        return expected
    problems = []
    exp_fields = {f.name: f for f in expected}
    act_fields = {f.name: f for f in actual}
    for name in exp_fields.keys() - act_fields.keys():
        problems.append(f"missing column {name}")
    for name in act_fields.keys() - exp_fields.keys():
        problems.append(f"unexpected column {name}")
    for name in exp_fields.keys() & act_fields.keys():
        e, a = exp_fields[name], act_fields[name]
        if not e.type.equals(a.type):
            problems.append(f"{name}: type {a.type}, expected {e.type}")
        if e.nullable != a.nullable:
            problems.append(f"{name}: nullable={a.nullable}, expected nullable={e.nullable}")
    if not problems and list(act_fields) != list(exp_fields):
        problems.append(f"column order {list(act_fields)}, expected {list(exp_fields)}")
    raise WarehouseLoadError(
        f"curated dataset {dataset!r}: Arrow schema differs from CURATED_SCHEMAS[{dataset!r}]: " + "; ".join(problems)
    )


def _check_partition(dataset: str, as_of_date: date, table: pa.Table) -> None:
    if table.num_rows == 0:
        return
    col = table.column("as_of_date")
    if col.null_count:
        raise WarehouseLoadError(f"curated dataset {dataset!r}: as_of_date has nulls")

    lo, hi = pc.min_max(col).values()
    if lo.as_py() != as_of_date or hi.as_py() != as_of_date:
        raise WarehouseLoadError(
            f"curated dataset {dataset!r}: rows span as_of_date {lo.as_py()}..{hi.as_py()}, "
            f"but the partition being replaced is {as_of_date}"
        )


def _pg_uri(settings: WarehouseSettings, database: str | None = None) -> str:
    from urllib.parse import quote

    auth = quote(settings.pg_user, safe="")
    if settings.pg_password:
        auth += ":" + quote(settings.pg_password, safe="")
    return f"postgresql://{auth}@{settings.pg_host}:{settings.pg_port}/{quote(database or settings.pg_database, safe='')}"


def ensure_postgres_database(settings: WarehouseSettings) -> bool:
    """Create settings.pg_database if it does not exist (connecting to the `postgres` maintenance database).

    Returns True when it was created. Needs CREATEDB; a no-op for existing databases.
    """
    import psycopg2

    conn = psycopg2.connect(
        host=settings.pg_host, port=settings.pg_port, user=settings.pg_user,
        password=settings.pg_password or None, dbname="postgres",
    )
    try:
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (settings.pg_database,))
            if cur.fetchone():
                return False
            cur.execute(f"CREATE DATABASE {_ident(settings.pg_database)}")
            return True
    finally:
        conn.close()


@contextmanager
def warehouse_connection(settings: WarehouseSettings) -> Iterator[Any]:
    """A DB-API connection to the configured warehouse, session time zone UTC, closed on exit.

    DuckDB: a duckdb connection to settings.duckdb_path (parent directory created). PostgreSQL: an ADBC DB-API
    connection (autocommit off: call commit()). Both accept `$1`-style positional parameters. Keep it short-lived:
    an open DuckDB connection locks the file against other processes (dbt included).
    """
    if settings.target == "duckdb":
        import duckdb

        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(str(settings.duckdb_path))
        try:
            conn.execute("SET TimeZone = 'UTC'")
            yield conn
        finally:
            conn.close()
    elif settings.target == "postgres":
        import adbc_driver_postgresql.dbapi as pg_dbapi

        conn = pg_dbapi.connect(_pg_uri(settings))
        try:
            with conn.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
            yield conn
        finally:
            conn.close()
    else:
        raise WarehouseLoadError(f"unknown warehouse target {settings.target!r}")


def query_with_columns(settings: WarehouseSettings, sql: str, params: tuple | list | None = None) -> tuple[list[str], list[tuple]]:
    """Run one read query; return (column names, rows as tuples). The connection is opened and closed around it."""
    with warehouse_connection(settings) as conn:
        if settings.target == "duckdb":
            cursor = conn.execute(sql, params or [])
            return [d[0] for d in cursor.description], [tuple(r) for r in cursor.fetchall()]
        with conn.cursor() as cur:
            cur.execute(sql, params) if params else cur.execute(sql)
            columns, rows = [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]
        conn.rollback()
        return columns, rows


def query(settings: WarehouseSettings, sql: str, params: tuple | list | None = None) -> list[tuple]:
    """Run one read query and return its rows as tuples."""
    return query_with_columns(settings, sql, params)[1]


def query_dicts(settings: WarehouseSettings, sql: str, params: tuple | list | None = None) -> list[dict]:
    """Run one read query and return its rows as dicts keyed by column name."""
    columns, rows = query_with_columns(settings, sql, params)
    return [dict(zip(columns, row)) for row in rows]


def _existing_columns(cur_execute, schema: str, table: str) -> list[str]:
    rows = cur_execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 "
        "ORDER BY ordinal_position",
        [schema, table],
    )
    return [r[0] for r in rows]


def _ensure_tables(execute, settings: WarehouseSettings, dataset: str, schema: pa.Schema) -> None:
    landing = settings.landing_schema
    execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(landing)}")
    table = landing_table_name(dataset)
    execute(_create_table_sql(_qualified(landing, table), schema))
    execute(_load_log_sql(_qualified(landing, LOAD_LOG_TABLE)))
    if "content_sha256" not in _existing_columns(execute, landing, LOAD_LOG_TABLE):
        # load_log from before content hashes: add the column (nullable; old rows stay null until their
        # partition is reloaded, and dbt rebuilds a day with a null hash on every run).
        execute(f"ALTER TABLE {_qualified(landing, LOAD_LOG_TABLE)} ADD COLUMN content_sha256 TEXT")
    cols = _existing_columns(execute, landing, table)
    if cols != schema.names:
        raise WarehouseLoadError(
            f"landing table {landing}.{table} has columns {cols}, but CURATED_SCHEMAS[{dataset!r}] is "
            f"{schema.names}; migrate or drop it (the loader never alters existing tables)"
        )


def load_curated_snapshot(settings: WarehouseSettings, dataset: str, as_of_date: date, table: pa.Table) -> int:
    """Replace the as_of_date partition of <schema>_landing.curated_<dataset> with `table`; return its row count.

    The Arrow schema must equal CURATED_SCHEMAS[dataset] (names, order, types, nullability) and every row must
    carry as_of_date. Creates the landing schema and tables when missing. Idempotent: loading the same table
    again leaves the landing table row-for-row identical and records the same load_log.content_sha256 (only the
    audit columns load_log.loaded_at/load_id change).
    """
    schema = _check_schema(dataset, table)
    _check_partition(dataset, as_of_date, table)
    table = table.cast(schema)  # drop schema metadata / normalise field objects
    landing = settings.landing_schema
    target = _qualified(landing, landing_table_name(dataset))
    log = _qualified(landing, LOAD_LOG_TABLE)
    col_list = ", ".join(_ident(n) for n in schema.names)
    loaded_at = datetime.now(timezone.utc)
    load_id = uuid.uuid4().hex
    log_params = [dataset, as_of_date, table.num_rows, content_sha256(table), loaded_at, load_id]

    if settings.target == "duckdb":
        with warehouse_connection(settings) as conn:

            def execute(sql: str, params: list | None = None) -> list[tuple]:
                return conn.execute(sql, params or []).fetchall()

            conn.begin()
            try:
                _ensure_tables(execute, settings, dataset, schema)
                view = f"incoming_{load_id}"
                conn.register(view, table)
                try:
                    execute(f"DELETE FROM {target} WHERE as_of_date = $1", [as_of_date])
                    execute(f"INSERT INTO {target} ({col_list}) SELECT {col_list} FROM {_ident(view)}")
                finally:
                    conn.unregister(view)
                execute(f"DELETE FROM {log} WHERE dataset = $1 AND as_of_date = $2", [dataset, as_of_date])
                execute(f"INSERT INTO {log} (dataset, as_of_date, row_count, content_sha256, loaded_at, load_id) "
                        "VALUES ($1, $2, $3, $4, $5, $6)", log_params)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        return table.num_rows

    if settings.target == "postgres":
        with warehouse_connection(settings) as conn:
            cur = conn.cursor()

            def execute(sql: str, params: list | None = None) -> list[tuple]:
                cur.execute(sql, params) if params else cur.execute(sql)
                return cur.fetchall() if cur.description else []

            try:
                # Serialise concurrent loads of the same partition (and concurrent first-time DDL).
                execute("SELECT pg_advisory_xact_lock(hashtext($1))", [f"{landing}.{dataset}"])
                _ensure_tables(execute, settings, dataset, schema)
                execute(f"CREATE INDEX IF NOT EXISTS {_ident(landing_table_name(dataset) + '_as_of_date')} "
                        f"ON {target} (as_of_date)")
                staging = f"incoming_{load_id}"
                cur.adbc_ingest(staging, table, mode="create", temporary=True)
                execute(f"DELETE FROM {target} WHERE as_of_date = $1", [as_of_date])
                execute(f"INSERT INTO {target} ({col_list}) SELECT {col_list} FROM {_ident(staging)}")
                execute(f"DROP TABLE {_ident(staging)}")
                execute(f"DELETE FROM {log} WHERE dataset = $1 AND as_of_date = $2", [dataset, as_of_date])
                execute(f"INSERT INTO {log} (dataset, as_of_date, row_count, content_sha256, loaded_at, load_id) "
                        "VALUES ($1, $2, $3, $4, $5, $6)", log_params)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cur.close()
        return table.num_rows

    raise WarehouseLoadError(f"unknown warehouse target {settings.target!r}")


# --- raw events (EL of the raw zone) ---------------------------------------------------------------------


@dataclass(frozen=True)
class RawBatch:
    """One committed raw batch as the loader sees it: identity, content hash and a way to read its rows.

    `read` is called only when the batch has to be (re)loaded, so an unchanged batch costs no download.
    """

    batch_id: str
    source: str
    content_sha256: str
    read: Callable[[], pa.Table]


def raw_batch_sha256(file_sha256s: Iterable[str]) -> str:
    """Content hash of a raw batch from its committed files' sha256 (the manifest lists them; data files are
    named by content, so the same rows committed again give the same hash)."""
    digests = sorted(file_sha256s)
    if not digests:
        raise WarehouseLoadError("a raw batch manifest lists no files to hash")
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def _raw_manifest_keys(lake) -> dict[str, Any]:
    """batch_id -> ObjectRef of its manifest, from the manifest keys alone (API intervals and recruiter drops).

    Manifest keys name their batch: `_manifests/events/source=S/<interval>.json` holds batch `S/<interval>`,
    `_manifests/drops/source=S/ingest_date=D/<file_id>.json` holds batch `S/<file_id>`.
    """
    from hiring_signals.storage.lake import ObjectRef

    bucket = lake.bucket_for("raw")
    found: dict[str, Any] = {}
    for prefix in ("raw/_manifests/events/", "raw/_manifests/drops/"):
        for key in lake.list_keys(bucket, prefix):
            if not key.endswith(".json"):
                continue
            parts = key[len(prefix):-len(".json")].split("/")
            source = parts[0].removeprefix("source=")
            found[f"{source}/{parts[-1]}"] = ObjectRef(bucket, key)
    return found


def committed_raw_batches(lake, batch_ids: Sequence[str]) -> list[RawBatch]:
    """The committed raw batches `batch_ids` (e.g. a curated manifest's inputs.batches), read only through their
    manifests. A batch without a committed manifest is an error: the snapshot was built from data the lake no
    longer (or not yet) commits, and loading part of it would make the marts disagree with the snapshot."""
    import io

    import pyarrow.parquet as pq

    manifests = _raw_manifest_keys(lake)
    missing = sorted(set(batch_ids) - manifests.keys())
    if missing:
        raise WarehouseLoadError(f"{len(missing)} raw batch(es) have no committed manifest: {missing[:5]}")
    schema = raw_event_arrow_schema()
    batches = []
    for batch_id in sorted(set(batch_ids)):
        manifest = lake.get_json(manifests[batch_id])
        if manifest.get("batch_id") != batch_id:
            raise WarehouseLoadError(f"manifest {manifests[batch_id].key} commits batch {manifest.get('batch_id')!r}, "
                                     f"expected {batch_id!r}")
        files = [f for f in manifest["files"] if f["zone"] == "raw"]

        def read(files=files) -> pa.Table:
            tables = [pq.read_table(io.BytesIO(lake.get(lake.ref(f["zone"], f["key"])))) for f in files]
            return pa.concat_tables(tables) if tables else schema.empty_table()

        # a batch whose every record was quarantined commits no raw file: nothing to load, still recorded
        digest = raw_batch_sha256(f["sha256"] for f in files) if files else hashlib.sha256(b"").hexdigest()
        batches.append(RawBatch(batch_id, manifest["source"], digest, read))
    return batches


def _check_raw_batch(batch: RawBatch, table: pa.Table) -> pa.Table:
    """`table` cast to the raw schema, after checking it is the batch it claims to be."""
    schema = raw_event_arrow_schema()
    if table.schema.names != schema.names:
        raise WarehouseLoadError(f"raw batch {batch.batch_id}: columns {table.schema.names}, expected {schema.names}")
    for field in schema:
        actual = table.schema.field(field.name).type
        if not actual.equals(field.type):
            raise WarehouseLoadError(f"raw batch {batch.batch_id}: {field.name} is {actual}, expected {field.type}")
        if not field.nullable and table.column(field.name).null_count:
            raise WarehouseLoadError(f"raw batch {batch.batch_id}: {field.name} has nulls")
    # Defence in depth: the raw zone is pseudonymised at the edge, so an email here means a broken upstream, and
    # the warehouse is where it would spread from; refuse the batch rather than publish it.
    for column in ("payload", "source_extras", "remote_id"):
        found = pc.match_substring_regex(table.column(column), EMAIL_IN_TEXT.pattern)
        hits = pc.sum(pc.cast(found, pa.int64())).as_py() or 0
        if hits:
            raise WarehouseLoadError(f"raw batch {batch.batch_id}: {hits} row(s) carry an email address in {column}; "
                                     "raw rows must be pseudonymised before they reach the warehouse")
    for column, expected in (("batch_id", batch.batch_id), ("source", batch.source)):
        others = pc.unique(pc.filter(table.column(column), pc.not_equal(table.column(column), expected)))
        if len(others):
            raise WarehouseLoadError(f"raw batch {batch.batch_id}: rows with {column} {others.to_pylist()[:3]}, "
                                     f"expected only {expected!r}")
    return table.cast(schema)


def _raw_ddl(execute, settings: WarehouseSettings) -> None:
    landing = settings.landing_schema
    execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(landing)}")
    schema = raw_event_arrow_schema()
    execute(_create_table_sql(_qualified(landing, RAW_EVENTS_TABLE), schema))
    cols = _existing_columns(execute, landing, RAW_EVENTS_TABLE)
    if cols != schema.names:
        raise WarehouseLoadError(f"landing table {landing}.{RAW_EVENTS_TABLE} has columns {cols}, but the raw "
                                 f"contract is {schema.names}; migrate or drop it (the loader never alters tables)")
    execute(f"CREATE TABLE IF NOT EXISTS {_qualified(landing, RAW_LOAD_LOG_TABLE)} (\n"
            "  batch_id TEXT NOT NULL,\n  source TEXT NOT NULL,\n  row_count BIGINT NOT NULL,\n"
            "  content_sha256 TEXT NOT NULL,\n  loaded_at TIMESTAMP WITH TIME ZONE NOT NULL,\n"
            "  load_id TEXT NOT NULL\n)")
    execute(f"CREATE TABLE IF NOT EXISTS {_qualified(landing, SNAPSHOT_BATCHES_TABLE)} (\n"
            "  as_of_date DATE NOT NULL,\n  batch_id TEXT NOT NULL\n)")


@contextmanager
def _transaction(settings: WarehouseSettings, lock: str) -> Iterator[tuple[Callable, Callable]]:
    """One transaction on the warehouse: yields (execute(sql, params) -> rows, stage(name, table) -> temp name).

    Commits on a clean exit, rolls back on any exception. On PostgreSQL a transaction-scoped advisory lock on
    `lock` serialises concurrent writers of the same tables (see the module docstring).
    """
    with warehouse_connection(settings) as conn:
        if settings.target == "duckdb":
            registered: list[str] = []

            def execute(sql: str, params: list | None = None) -> list[tuple]:
                return conn.execute(sql, params or []).fetchall()

            def stage(name: str, table: pa.Table) -> str:
                conn.register(name, table)
                registered.append(name)
                return name

            conn.begin()
            try:
                yield execute, stage
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                for name in registered:
                    conn.unregister(name)
            return
        cur = conn.cursor()

        def execute(sql: str, params: list | None = None) -> list[tuple]:
            cur.execute(sql, params) if params else cur.execute(sql)
            return cur.fetchall() if cur.description else []

        def stage(name: str, table: pa.Table) -> str:
            cur.adbc_ingest(name, table, mode="create", temporary=True)
            return name

        try:
            execute("SELECT pg_advisory_xact_lock(hashtext($1))", [lock])
            yield execute, stage
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            cur.close()


def load_raw_batches(settings: WarehouseSettings, as_of_date: date, batches: Sequence[RawBatch]) -> dict:
    """Load the raw batches a curated snapshot (as_of_date) was built from into <schema>_landing.raw_events.

    Each batch not yet loaded with the same content_sha256 is read and replaces its rows (by batch_id) in one
    transaction together with its raw_load_log row; batches loaded before with the same hash are not read at
    all. Then snapshot_raw_batches(as_of_date) is replaced by exactly `batches`. Idempotent: a rerun leaves
    raw_events and snapshot_raw_batches row-for-row identical (only the audit columns loaded_at/load_id of
    re-loaded batches change). Returns counts: batches, loaded (ids), skipped, rows_loaded.
    """
    if settings.target not in ("duckdb", "postgres"):
        raise WarehouseLoadError(f"unknown warehouse target {settings.target!r}")
    ids = [b.batch_id for b in batches]
    if len(set(ids)) != len(ids):
        raise WarehouseLoadError(f"raw batches listed twice: {sorted({i for i in ids if ids.count(i) > 1})}")
    landing = settings.landing_schema
    events = _qualified(landing, RAW_EVENTS_TABLE)
    log = _qualified(landing, RAW_LOAD_LOG_TABLE)
    snapshot = _qualified(landing, SNAPSHOT_BATCHES_TABLE)
    names = raw_event_arrow_schema().names
    col_list = ", ".join(_ident(n) for n in names)
    lock = f"{landing}.{RAW_EVENTS_TABLE}"

    with _transaction(settings, lock) as (execute, _):
        _raw_ddl(execute, settings)
        if settings.target == "postgres":
            execute(f"CREATE INDEX IF NOT EXISTS {_ident(RAW_EVENTS_TABLE + '_batch_id')} ON {events} (batch_id)")
        loaded_hashes = dict(execute(f"SELECT batch_id, content_sha256 FROM {log}"))

    loaded, rows_loaded = [], 0
    for batch in batches:
        if loaded_hashes.get(batch.batch_id) == batch.content_sha256:
            continue
        table = _check_raw_batch(batch, batch.read())
        load_id = uuid.uuid4().hex
        with _transaction(settings, lock) as (execute, stage):
            incoming = stage(f"incoming_{load_id}", table)
            execute(f"DELETE FROM {events} WHERE batch_id = $1", [batch.batch_id])
            execute(f"INSERT INTO {events} ({col_list}) SELECT {col_list} FROM {_ident(incoming)}")
            if settings.target == "postgres":
                execute(f"DROP TABLE {_ident(incoming)}")
            execute(f"DELETE FROM {log} WHERE batch_id = $1", [batch.batch_id])
            execute(f"INSERT INTO {log} (batch_id, source, row_count, content_sha256, loaded_at, load_id) "
                    "VALUES ($1, $2, $3, $4, $5, $6)",
                    [batch.batch_id, batch.source, table.num_rows, batch.content_sha256,
                     datetime.now(timezone.utc), load_id])
        loaded.append(batch.batch_id)
        rows_loaded += table.num_rows

    # Written last: a snapshot never names a batch that is not loaded, even when a load above failed half way.
    listing = pa.table({"as_of_date": pa.array([as_of_date] * len(ids), pa.date32()),
                        "batch_id": pa.array(sorted(ids), pa.string())})
    with _transaction(settings, lock) as (execute, stage):
        incoming = stage(f"snapshot_{uuid.uuid4().hex}", listing)
        execute(f"DELETE FROM {snapshot} WHERE as_of_date = $1", [as_of_date])
        execute(f"INSERT INTO {snapshot} (as_of_date, batch_id) SELECT as_of_date, batch_id FROM {_ident(incoming)}")
        if settings.target == "postgres":
            execute(f"DROP TABLE {_ident(incoming)}")
    return {"as_of_date": as_of_date.isoformat(), "batches": len(ids), "loaded": loaded,
            "skipped": len(ids) - len(loaded), "rows_loaded": rows_loaded}
