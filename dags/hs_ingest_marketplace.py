"""Nightly ingestion of the micro-internship marketplace API, one run per data interval (HS_INGEST_INTERVAL_DAYS,
default one day); each run commits one batch per day of its interval.

extract: API pages for [data_interval_start, data_interval_end) -> landing zone, as received
load:    landing -> contract v1 -> quarantine / GX gate -> raw zone; emits the raw_events__marketplace Asset
Backfill any range with `airflow backfill create --dag-id hs_ingest_marketplace --from-date ... --to-date ...`;
a rerun of an interval replaces its batch.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import Metadata, dag, task
from airflow.timetables.interval import DeltaDataIntervalTimetable

from hs_common import DEFAULT_ARGS, INGEST_END_DATE, INGEST_INTERVAL_DAYS, INGEST_START_DATE, raw_events_asset

SOURCE = "marketplace"
RAW_EVENTS = raw_events_asset(SOURCE)


@dag(
    dag_id="hs_ingest_marketplace",
    # Intervals are aligned to start_date (midnight UTC), so whole days always fall in one run.
    schedule=DeltaDataIntervalTimetable(timedelta(days=INGEST_INTERVAL_DAYS)),
    start_date=datetime.combine(INGEST_START_DATE, datetime.min.time(), tzinfo=timezone.utc),
    # The last scheduled interval ends at HS_INGEST_END_DATE (Airflow's end_date bounds the logical date).
    end_date=datetime.combine(INGEST_END_DATE - timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    if INGEST_END_DATE else None,
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    tags=["ingest", SOURCE],
    doc_md=__doc__,
)
def hs_ingest_marketplace():
    @task
    def extract(data_interval_start=None, data_interval_end=None) -> dict:
        from hiring_signals import pipeline
        from hiring_signals.config import load_settings

        return pipeline.extract(load_settings(), SOURCE, data_interval_start, data_interval_end)

    @task(outlets=[RAW_EVENTS])
    def load(extracted: dict, data_interval_start=None, data_interval_end=None):
        from hiring_signals import pipeline
        from hiring_signals.config import load_settings

        result = pipeline.load(load_settings(), SOURCE, data_interval_start, data_interval_end)
        yield Metadata(RAW_EVENTS, {"source": SOURCE, "interval_start": result["interval"]["start"],
                                    "interval_end": result["interval"]["end"], "batches": len(result["batches"]),
                                    **result["counts"]})
        return result

    load(extract())


hs_ingest_marketplace()
