"""Publishes the warehouse marts and the ATS feed whenever a curated snapshot lands.

load_curated (every snapshot the triggering events name and every one committed since the last published feed,
oldest first, so the history mart misses none when several queued up behind a running publication or an Asset
event was held back) -> dbt, one Airflow task per node (cosmos: each seed and model, then its data and unit tests;
tests spanning several models after all of them; each model/seed emits `warehouse://hiring_signals/<node>`)
-> gate_marts (GX suites on every mart: ranges, grain keys, references, row-count change against the previous
publication; a failure stops here) -> export_feed (NDJSON + manifest in the feeds bucket).
warehouse_marts is emitted only by the gate, the feed Asset only by the export.
One task at a time: DuckDB has one writer, and on PostgreSQL parallel view swaps deadlock.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk.exceptions import AirflowSkipException
from airflow.sdk import Metadata, Param, dag, task

from hs_common import CURATED_SIGNALS, DEFAULT_ARGS, PUBLISH_FIRST, SETTINGS, SIGNAL_FEED, WAREHOUSE_MARTS, extras
from hiring_signals.warehouse.cosmos_config import build_dbt_task_group


@dag(
    dag_id="hs_publish_warehouse",
    schedule=[CURATED_SIGNALS],
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    default_args={**DEFAULT_ARGS, "retries": 1, **PUBLISH_FIRST},
    tags=["dbt", "warehouse", "feeds"],
    # Set to republish a given snapshot by hand (e.g. to another warehouse target); empty = from the Asset event.
    params={"as_of_date": Param(None, type=["null", "string"], format="date")},
    doc_md=__doc__,
)
def hs_publish_warehouse():
    @task(multiple_outputs=True)
    def resolve_as_of_date(triggering_asset_events=None, params=None) -> dict:
        """The snapshots to load (ascending) and the one to gate and export (the latest): the one given by hand,
        else those the events name plus any committed since the last publication (`pipeline.snapshots_to_publish`)."""
        manual = (params or {}).get("as_of_date")
        if manual:
            snapshots = [manual]
        else:
            from hiring_signals import pipeline
            from hiring_signals.config import load_settings

            named = extras(triggering_asset_events or {}, "as_of_date")
            snapshots = pipeline.snapshots_to_publish(load_settings(), named)
            print(f"snapshots named by the triggering events: {named}; to publish: {snapshots}")
        if not snapshots:
            raise AirflowSkipException("no curated snapshot named by the triggering events or params, none unpublished")
        return {"as_of_date": snapshots[-1], "snapshots": snapshots}

    @task
    def load_curated(snapshots: list[str]) -> list[dict]:
        from datetime import date

        from hiring_signals import pipeline
        from hiring_signals.config import load_settings

        settings = load_settings()
        return [pipeline.load_curated(settings, date.fromisoformat(as_of)) for as_of in snapshots]

    @task(outlets=[WAREHOUSE_MARTS])
    def gate_marts(as_of_date: str):
        from datetime import date

        from hiring_signals import pipeline
        from hiring_signals.config import load_settings

        result = pipeline.gate_marts(load_settings(), date.fromisoformat(as_of_date))
        yield Metadata(WAREHOUSE_MARTS, {"as_of_date": as_of_date, "target": result["target"],
                                         "row_counts": result["row_counts"]})
        return result

    @task(outlets=[SIGNAL_FEED])
    def export_feed(as_of_date: str):
        from datetime import date

        from hiring_signals import pipeline
        from hiring_signals.config import load_settings

        manifest = pipeline.export_feed(load_settings(), date.fromisoformat(as_of_date))
        yield Metadata(SIGNAL_FEED, {"as_of_date": as_of_date, "records": manifest["records"]})
        return manifest

    resolved = resolve_as_of_date()
    as_of = resolved["as_of_date"]
    dbt = build_dbt_task_group(SETTINGS)
    gate = gate_marts(as_of)
    load_curated(resolved["snapshots"]) >> dbt >> gate >> export_feed(as_of)


hs_publish_warehouse()
