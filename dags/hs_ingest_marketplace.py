"""Airflow DAG: nightly ingestion of the micro-internship marketplace API (cursor pagination, updated_since)."""

from hs_ingest_factory import ingest_api_source_dag

ingest_api_source_dag("marketplace", __doc__)
