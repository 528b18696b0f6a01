"""The warehouse: load curated snapshots and the raw batches they were built from into <schema>_landing and
publish marts with dbt (DuckDB or PostgreSQL).

Exports resolve lazily: the publish DAG imports `hiring_signals.warehouse.cosmos_config` at parse time, and an
eager import here would pull pyarrow and dbt into every DAG parse.
"""

from importlib import import_module

_EXPORTS = {
    "DbtBuildFailed": "dbt_runner", "DbtNodeResult": "dbt_runner", "DbtResult": "dbt_runner", "run_dbt": "dbt_runner",
    "RawBatch": "loader", "WarehouseLoadError": "loader", "committed_raw_batches": "loader",
    "ensure_postgres_database": "loader", "load_curated_snapshot": "loader", "load_raw_batches": "loader",
    "query": "loader", "warehouse_connection": "loader",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"hiring_signals.warehouse.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
