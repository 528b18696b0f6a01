"""One warehouse per test target (DuckDB file or a unique PostgreSQL schema), set up and torn down the same way
by every warehouse test module (test_warehouse_dbt.py, test_warehouse_raw_dbt.py, test_warehouse_simulated.py,
test_marts_gate.py).

PostgreSQL runs in unique schemas (`<prefix>_<random>` and the dbt schemas derived from it, all dropped at the
end) of database HS_PG_DATABASE (created if missing). An unreachable server fails the test: the PostgreSQL run
is part of what these suites prove, so it is never skipped.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from hiring_signals.config import Settings, WarehouseSettings, load_settings

WAREHOUSE_TARGETS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def pg_unreachable_reason(ws: WarehouseSettings) -> str | None:
    import psycopg2

    try:
        psycopg2.connect(host=ws.pg_host, port=ws.pg_port, user=ws.pg_user, password=ws.pg_password or None,
                         dbname="postgres", connect_timeout=3).close()
        return None
    except psycopg2.OperationalError as exc:
        return str(exc).strip()


def drop_pg_schemas(ws: WarehouseSettings) -> None:
    """Drop `ws.schema` and every schema dbt derived from it (`<schema>_landing`, `_staging`, ...)."""
    import psycopg2

    conn = psycopg2.connect(host=ws.pg_host, port=ws.pg_port, user=ws.pg_user, password=ws.pg_password or None,
                            dbname=ws.pg_database)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
                        (ws.schema, ws.schema.replace("_", r"\_") + r"\_%"))
            for (name,) in cur.fetchall():
                cur.execute(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        conn.close()


@contextlib.contextmanager
def open_warehouse(target: str, work: Path, schema_prefix: str, *, base_env: Mapping[str, str] | None = None,
                   duckdb_schema: str | None = None) -> Iterator[Settings]:
    """Settings for `target` on top of `base_env` (default: os.environ with HS_HOME under `work`): the DuckDB
    file under `work`, the schema `<schema_prefix>_<random>` (or `duckdb_schema` on DuckDB); on PostgreSQL the
    database exists and the schemas are dropped afterwards."""
    env = dict(base_env) if base_env is not None else {**os.environ, "HS_HOME": str(work / "home")}
    unique = f"{schema_prefix}_{uuid.uuid4().hex[:10]}"
    env.update({
        "HS_WAREHOUSE_TARGET": target,
        "HS_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "HS_WAREHOUSE_SCHEMA": duckdb_schema if target == "duckdb" and duckdb_schema else unique,
    })
    settings = load_settings(env)
    ws = settings.warehouse
    if target == "postgres":
        from hiring_signals.warehouse import ensure_postgres_database

        reason = pg_unreachable_reason(ws)
        if reason:
            pytest.fail(f"PostgreSQL not reachable at {ws.pg_host}:{ws.pg_port}: {reason} (start it with "
                        "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`)")
        ensure_postgres_database(ws)
    try:
        yield settings
    finally:
        if target == "postgres":
            drop_pg_schemas(ws)
