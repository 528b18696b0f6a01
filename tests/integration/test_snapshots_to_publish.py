"""Which curated snapshots a publication loads: those named by its events plus every complete one committed since
the latest published feed (an Asset event Airflow held back must not leave a snapshot unpublished)."""

from __future__ import annotations

from datetime import date

from hiring_signals import pipeline
from hiring_signals.contract.curated_schema import CURATED_SCHEMAS
from hiring_signals.storage import Lake, layout


def commit_snapshot(lake: Lake, as_of: date, datasets=tuple(CURATED_SCHEMAS)) -> None:
    for dataset in datasets:
        lake.put(layout.curated_manifest_ref(lake, dataset, as_of), b'{"files": []}', "application/json")


def publish_feed(lake: Lake, as_of: date) -> None:
    lake.put(layout.feed_latest_ref(lake), b'{"as_of_date": "%s"}' % as_of.isoformat().encode(), "application/json")


def test_snapshots_to_publish(settings):
    lake = Lake(settings.s3)
    lake.ensure_buckets()
    assert pipeline.snapshots_to_publish(settings, []) == []
    assert pipeline.snapshots_to_publish(settings, ["2026-05-07"]) == ["2026-05-07"]

    for day in (7, 14, 21):
        commit_snapshot(lake, date(2026, 5, day))
    commit_snapshot(lake, date(2026, 5, 28), datasets=["candidates"])  # still being committed: not yet
    # nothing published yet: every complete snapshot
    assert pipeline.snapshots_to_publish(settings, ["2026-05-07"]) == ["2026-05-07", "2026-05-14", "2026-05-21"]

    publish_feed(lake, date(2026, 5, 14))
    # the event named 05-14 (published before, a rerun); 05-21 was committed and its event held back
    assert pipeline.snapshots_to_publish(settings, ["2026-05-14"]) == ["2026-05-14", "2026-05-21"]
    assert pipeline.snapshots_to_publish(settings, []) == ["2026-05-21"]
    commit_snapshot(lake, date(2026, 5, 28))
    assert pipeline.snapshots_to_publish(settings, []) == ["2026-05-21", "2026-05-28"]
    publish_feed(lake, date(2026, 5, 28))
    assert pipeline.snapshots_to_publish(settings, []) == []
