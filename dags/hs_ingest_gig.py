"""Airflow DAG: nightly ingestion of the gig / freelance platform API (page-number pagination over its activity log, bounded by modified_since/modified_until in epoch ms; contracts, milestones, reviews and payments mapped onto the event contract)."""

from hs_ingest_factory import ingest_api_source_dag

ingest_api_source_dag("gig", __doc__)
