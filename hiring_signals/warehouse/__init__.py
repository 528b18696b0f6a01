"""The warehouse: load curated snapshots into <schema>_landing and publish marts with dbt (DuckDB or PostgreSQL)."""

from hiring_signals.warehouse.dbt_runner import DbtBuildFailed, DbtNodeResult, DbtResult, run_dbt
from hiring_signals.warehouse.loader import (
    WarehouseLoadError,
    ensure_postgres_database,
    load_curated_snapshot,
    query,
    warehouse_connection,
)

__all__ = [
    "DbtBuildFailed",
    "DbtNodeResult",
    "DbtResult",
    "WarehouseLoadError",
    "ensure_postgres_database",
    "load_curated_snapshot",
    "query",
    "run_dbt",
    "warehouse_connection",
]
