"""The ATS signal feed as files: the published mart, one NDJSON line per candidate, plus a manifest.

    feeds/candidate-signals/v1/as_of_date=D/part-*.ndjson.gz      records (schema: contract/schemas/feeds/)
    feeds/candidate-signals/v1/_manifests/as_of_date=D.json       the commit of that snapshot
    feeds/candidate-signals/v1/LATEST.json                        the newest committed snapshot, written last

The feed is exported from the warehouse mart `candidate_signal_feed`, i.e. only after dbt's contracts and
tests passed, and every record is checked against the feed's versioned JSON Schema before it is written.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from importlib import resources

import fastjsonschema
import orjson

from hiring_signals.config import Settings
from hiring_signals.contract.curated_schema import SIGNALS
from hiring_signals.storage import Lake, StagedFile, canonical_json, commit_batch, gzip_deterministic
from hiring_signals.storage import layout

FEED_SCHEMA_FILE = "candidate-signals.v1.json"


class FeedRecordInvalid(ValueError):
    pass


@lru_cache(maxsize=1)
def feed_schema() -> dict:
    return json.loads((resources.files("hiring_signals.contract") / "schemas" / "feeds" / FEED_SCHEMA_FILE).read_text())


# Mart columns that explain one signal (reason text, explanation JSON), beyond its value and evidence.
EXPLAINED = {"signal_score": ("signal_score_reason", "signal_score_explanation")}


def feed_record(row: dict) -> dict:
    """One mart row (wide: <signal>, <signal>_evidence, versions, the composite's reason and explanation) as a
    feed record (nested, explained). Optional fields are left out when the mart has nothing for them."""
    signals: dict[str, dict] = {}
    for s in SIGNALS:
        entry = {
            "value": None if row[s.name] is None else float(row[s.name]),
            "evidence_count": int(row[f"{s.name}_evidence"]),
            "window": "all_history" if s.window_days is None else f"last_{s.window_days}_days",
        }
        reason_column, explanation_column = EXPLAINED.get(s.name, (None, None))
        if reason_column and row.get(reason_column) is not None:
            entry["reason"] = row[reason_column]
        if explanation_column and row.get(explanation_column) is not None:
            entry["explanation"] = orjson.loads(row[explanation_column])
        signals[s.name] = entry
    record = {
        "feed_version": layout.FEED_VERSION,
        "candidate_ref": row["candidate_ref"],
        "as_of_date": row["as_of_date"].isoformat() if hasattr(row["as_of_date"], "isoformat") else str(row["as_of_date"]),
        "feature_version": row["feature_version"],
        "signals": signals,
    }
    for optional in ("vocabulary_version", "rubric_version"):
        if row.get(optional) is not None:
            record[optional] = row[optional]
    return record


def feed_columns() -> list[str]:
    """The candidate_signal_feed columns the feed is built from."""
    return (["candidate_ref", "as_of_date", "feature_version", "vocabulary_version", "rubric_version"]
            + [c for s in SIGNALS for c in (s.name, f"{s.name}_evidence")]
            + [c for pair in EXPLAINED.values() for c in pair])


def export_candidate_signal_feed(settings: Settings, as_of_date: date) -> dict:
    from hiring_signals.warehouse.loader import query_dicts

    columns = feed_columns()
    rows = query_dicts(
        settings.warehouse,
        f"select {', '.join(columns)} from {settings.warehouse.schema}.candidate_signal_feed order by candidate_ref",
    )
    stale = {str(r["as_of_date"]) for r in rows} - {as_of_date.isoformat()}
    if stale:
        raise RuntimeError(f"candidate_signal_feed holds as-of date(s) {sorted(stale)}, expected {as_of_date}: "
                           "a newer or older snapshot was published in between; rerun the publication")
    validate = fastjsonschema.compile(feed_schema())
    lines = []
    for row in rows:
        record = feed_record(row)
        try:
            validate(record)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise FeedRecordInvalid(f"feed record for {row['candidate_ref']} breaks {FEED_SCHEMA_FILE}: {exc.message}") from exc
        lines.append(orjson.dumps(record, option=orjson.OPT_SORT_KEYS))

    lake = Lake(settings.s3)
    prefix = layout.feed_prefix(as_of_date)
    files = [StagedFile("feeds", prefix, "ndjson.gz", gzip_deterministic(b"\n".join(lines) + b"\n"), rows=len(lines),
                        content_type="application/gzip")] if lines else []
    manifest_ref = layout.feed_manifest_ref(lake, as_of_date)
    manifest = commit_batch(
        lake, manifest_ref=manifest_ref, files=files, batch_prefixes=[("feeds", prefix)],
        body={"feed": layout.FEED_NAME, "feed_version": layout.FEED_VERSION, "schema": feed_schema()["$id"],
              "as_of_date": as_of_date.isoformat(), "records": len(lines),
              "signals": [s.name for s in SIGNALS]},
    )
    latest = layout.feed_latest_ref(lake)
    current = lake.get_json(latest) if lake.exists(latest) else None
    # LATEST only moves forward: republishing an older day must not hide a newer one from integrations.
    if current is None or current["as_of_date"] <= as_of_date.isoformat():
        lake.put(latest, canonical_json({"as_of_date": as_of_date.isoformat(), "manifest": manifest_ref.key}),
                 "application/json")
    return {**manifest, "manifest": manifest_ref.uri}
