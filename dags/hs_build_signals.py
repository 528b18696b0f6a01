"""Builds the curated candidate signals with Spark whenever new raw batches land.

Triggered by the raw_events Assets of every source (pulled APIs and recruiter file drops). The as-of date is the latest day for which every configured source has
committed every interval, so an out-of-order backfill never yields a snapshot missing a day.
Emits curated_candidate_signals with the as-of date.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk.exceptions import AirflowSkipException
from airflow.sdk import Metadata, dag, task

from hs_common import CURATED_SIGNALS, DEFAULT_ARGS, DROP_SOURCES, PUBLISH_FIRST, SOURCES, any_of, raw_events_asset


@dag(
    dag_id="hs_build_signals",
    schedule=any_of([raw_events_asset(s) for s in (*SOURCES, *DROP_SOURCES)]),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 1, **PUBLISH_FIRST},
    tags=["spark", "signals"],
    doc_md=__doc__,
)
def hs_build_signals():
    @task
    def resolve_as_of_date() -> str:
        from hiring_signals import pipeline
        from hiring_signals.config import load_settings

        try:
            resolved = pipeline.resolve_signals_as_of(load_settings())
        except pipeline.NothingToPublish as exc:
            raise AirflowSkipException(str(exc)) from exc
        print(f"as-of date {resolved['as_of_date']} (source watermarks {resolved['watermarks']})")
        return resolved["as_of_date"]

    @task(outlets=[CURATED_SIGNALS])
    def build_candidate_signals(as_of_date: str):
        from datetime import date

        from hiring_signals import pipeline
        from hiring_signals.config import load_settings

        manifest = pipeline.build_signals(load_settings(), date.fromisoformat(as_of_date))
        yield Metadata(CURATED_SIGNALS, {"as_of_date": as_of_date, "rows": sum(f["rows"] for f in manifest["files"])})
        return {"as_of_date": as_of_date, "files": len(manifest["files"])}

    build_candidate_signals(resolve_as_of_date())


hs_build_signals()
