"""One simulated lake for the whole pytest process (the `simulated_lake` and `simulated_snapshot` fixtures in
tests/conftest.py use this; tests only read it, or write dates other than AS_OF).

The marketplace and gig simulators serve 35 days over HTTP (the gig platform's freelancers are partly the
marketplace's people); the real ingestion steps commit 31 daily batches per source to a raw zone on the
session's moto S3 (one day past the persona as-of date: the snapshot must skip that batch). The snapshot as of
AS_OF is built once through hiring_signals.pipeline.build_signals (real spark-submit, local[2]).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from hiring_signals.config import Settings, load_settings
from hiring_signals.storage import Interval, Lake

START = date(2026, 5, 1)
SIM_DAYS = 35
INGESTED_DAYS = 31  # one day past the persona as-of: that batch must be skipped
AS_OF = START + timedelta(days=29)  # as_of_end = START + 30 days = persona_as_of(START)
SOURCES = ("marketplace", "gig")
SIZE = {"seed": 5, "start": START, "end": START + timedelta(days=SIM_DAYS), "candidates": 60, "employers": 8}


def day(n: int) -> Interval:
    begin = datetime.combine(START + timedelta(days=n), time(), tzinfo=timezone.utc)
    return Interval(begin, begin + timedelta(days=1))


@dataclass(frozen=True)
class SimulatedLake:
    env: dict[str, str]
    settings: Settings
    lake: Lake


@contextlib.contextmanager
def patched_environ(env: dict[str, str]):
    """os.environ with `env` on top, restored afterwards (build_signals hands spark-submit os.environ)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def build_simulated_lake(moto_endpoint: str, home: Path) -> SimulatedLake:
    from hiring_signals.identity import Pseudonymiser
    from hiring_signals.ingest import extract_to_landing, load_to_raw
    from hiring_signals.simulators import gig
    from hiring_signals.simulators.marketplace import MarketplaceSimulator, generate
    from hiring_signals.sources.gig import GigConnector, to_envelope as gig_to_envelope
    from hiring_signals.sources.http import SourceHttpClient
    from hiring_signals.sources.marketplace import MarketplaceConnector, to_envelope

    suffix = uuid.uuid4().hex[:10]
    env = {
        "HS_HOME": str(home), "HS_S3_ENDPOINT_URL": moto_endpoint, "HS_LAKE_BUCKET": f"lake-{suffix}",
        "HS_FEEDS_BUCKET": f"feeds-{suffix}", "HS_PSEUDONYM_KEY": "spark-job-key-" + "5" * 40,
        "HS_SPARK_MASTER": "local[2]", "HS_SOURCES": ",".join(SOURCES),
    }
    settings = load_settings(env)
    lake = Lake(settings.s3)
    lake.ensure_buckets()
    pseudonymiser = Pseudonymiser(settings.pseudonym_key())
    with MarketplaceSimulator(generate(**SIZE)) as marketplace, gig.GigSimulator(gig.generate(**SIZE)) as platform:
        sources = [("marketplace", MarketplaceConnector, marketplace.url, to_envelope),
                   ("gig", GigConnector, platform.url, gig_to_envelope)]
        for source, connector_class, url, mapping in sources:
            client = SourceHttpClient(url, max_attempts=6, backoff_initial_s=0.01, sleep=lambda s: None)
            connector = connector_class(client, page_limit=500)
            for n in range(INGESTED_DAYS):
                extract_to_landing(lake, connector, day(n))
                load_to_raw(lake, source, day(n), pseudonymiser, mapping)
    return SimulatedLake(env, settings, lake)
