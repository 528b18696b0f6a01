"""Builds the ingestion DAG of one pulled API source; each dags/hs_ingest_<source>.py is one call to it.

extract: API pages for [data_interval_start, data_interval_end) -> landing zone, as received
load:    landing -> contract v1 -> quarantine / GX gate -> raw zone; emits the raw_events__<source> Asset
Each run commits one batch per day of its interval (HS_INGEST_INTERVAL_DAYS, default one day). Backfill any
range with `airflow backfill create --dag-id hs_ingest_<source> --from-date ... --to-date ...`; a rerun of an
interval replaces its batches.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import Metadata, dag, task
from airflow.timetables.interval import DeltaDataIntervalTimetable

from hs_common import DEFAULT_ARGS, INGEST_END_DATE, INGEST_INTERVAL_DAYS, INGEST_START_DATE, raw_events_asset


def ingest_api_source_dag(source: str, doc_md: str):
    raw_events = raw_events_asset(source)

    @dag(
        dag_id=f"hs_ingest_{source}",
        # Intervals are aligned to start_date (midnight UTC), so whole days always fall in one run.
        schedule=DeltaDataIntervalTimetable(timedelta(days=INGEST_INTERVAL_DAYS)),
        start_date=datetime.combine(INGEST_START_DATE, datetime.min.time(), tzinfo=timezone.utc),
        # The last scheduled interval ends at HS_INGEST_END_DATE (Airflow's end_date bounds the logical date).
        end_date=datetime.combine(INGEST_END_DATE - timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
        if INGEST_END_DATE else None,
        catchup=False,
        max_active_runs=4,
        default_args=DEFAULT_ARGS,
        tags=["ingest", source],
        doc_md=doc_md + "\n\n" + (__doc__ or ""),
    )
    def ingest():
        @task
        def extract(data_interval_start=None, data_interval_end=None) -> dict:
            from hiring_signals import pipeline
            from hiring_signals.config import load_settings

            return pipeline.extract(load_settings(), source, data_interval_start, data_interval_end)

        @task(outlets=[raw_events])
        def load(extracted: dict, data_interval_start=None, data_interval_end=None):
            from hiring_signals import pipeline
            from hiring_signals.config import load_settings

            result = pipeline.load(load_settings(), source, data_interval_start, data_interval_end)
            # late_events / earliest_occurred_at tell listeners how far back the new knowledge reaches
            yield Metadata(raw_events, {"source": source, "interval_start": result["interval"]["start"],
                                        "interval_end": result["interval"]["end"], "batches": len(result["batches"]),
                                        "late_events": result["late_events"],
                                        "earliest_occurred_at": result["earliest_occurred_at"],
                                        "watermark": result["watermark"], **result["counts"]})
            return result

        load(extract())

    return ingest()
