"""Atomic batch commits against the real moto_server endpoint over HTTP."""

from datetime import datetime, timezone

import pytest

from hiring_signals.storage import Interval, StagedFile, commit_batch, read_manifests
from hiring_signals.storage import layout

DAY = Interval(datetime(2026, 5, 1, tzinfo=timezone.utc), datetime(2026, 5, 2, tzinfo=timezone.utc))


def snapshot(lake):
    out = {}
    for bucket in (lake.settings.lake_bucket, lake.settings.feeds_bucket):
        for key in lake.list_keys(bucket, ""):
            out[(bucket, key)] = lake.get(lake.ref(key.split("/")[0], key))
    return out


def commit(lake, bodies):
    prefix = layout.raw_events_prefix("marketplace", DAY)
    files = [StagedFile("raw", prefix, "parquet", b, rows=1) for b in bodies]
    return commit_batch(lake, manifest_ref=layout.raw_manifest_ref(lake, "marketplace", DAY), files=files,
                        batch_prefixes=[("raw", prefix)], body={"source": "marketplace", "interval": DAY.as_dict()})


def test_rerun_with_same_content_is_byte_identical(lake):
    commit(lake, [b"alpha", b"beta"])
    first = snapshot(lake)
    commit(lake, [b"beta", b"alpha"])
    assert snapshot(lake) == first
    assert len([k for _, k in first if k.endswith(".parquet")]) == 2


def test_rerun_with_new_content_replaces_never_adds(lake):
    commit(lake, [b"alpha", b"beta"])
    manifest = commit(lake, [b"gamma"])
    keys = [k for _, k in snapshot(lake) if k.endswith(".parquet")]
    assert keys == [manifest["files"][0]["key"]]
    assert lake.get(lake.ref("raw", keys[0])) == b"gamma"


def test_crashed_attempt_is_invisible_and_cleaned_by_the_next_commit(lake):
    commit(lake, [b"alpha"])
    # A crashed attempt uploaded a file but never wrote its manifest.
    orphan = StagedFile("raw", layout.raw_events_prefix("marketplace", DAY), "parquet", b"half-written", rows=1)
    lake.put(lake.ref("raw", orphan.key), orphan.body)
    (manifest,) = read_manifests(lake, "raw", layout.raw_manifests_prefix("marketplace"))
    assert [f["key"] for f in manifest["files"]] != [orphan.key]
    assert orphan.key not in {f["key"] for f in manifest["files"]}
    commit(lake, [b"alpha"])
    assert not lake.exists(lake.ref("raw", orphan.key))


def test_interval_keys_round_trip():
    assert Interval.parse_key(DAY.key) == DAY
    assert DAY.key == "20260501T000000Z_20260502T000000Z"
    with pytest.raises(ValueError):
        Interval(DAY.end, DAY.start)


def test_feeds_zone_uses_its_own_bucket(lake):
    assert lake.ref("feeds", "x").bucket == lake.settings.feeds_bucket
    assert lake.ref("raw", "x").bucket == lake.settings.lake_bucket
    with pytest.raises(ValueError):
        lake.ref("elsewhere", "x")
