"""`make bench`: ingestion throughput, measured side by side in one run (medians of repeated rounds).

  parse      orjson.loads of each record (the floor: what any JSON pipeline pays)
  normalise  orjson.loads + source mapping + contract v1 validation + pseudonymisation (per event)
  land       load_to_raw into the embedded S3 endpoint: normalise, dedupe, GX gate, Parquet, commit
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import orjson

from hiring_signals.contract import Normaliser
from hiring_signals.identity import Pseudonymiser
from hiring_signals.simulators.marketplace import generate
from hiring_signals.sources.marketplace import to_envelope

ROUNDS = 5


def _median_rate(n: int, fn) -> tuple[float, float]:
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return n / med, med


def main() -> None:
    start, end = date(2026, 5, 1), date(2026, 7, 1)
    population = generate(seed=7, start=start, end=end, candidates=3000, employers=300)
    lines = [orjson.dumps(r) for r in population.records]
    n = len(lines)
    pseudonymiser = Pseudonymiser(b"b" * 32)
    ingested_at = datetime.combine(end, datetime.min.time(), tzinfo=timezone.utc)

    def parse():
        for line in lines:
            orjson.loads(line)

    def normalise():
        normaliser = Normaliser("marketplace", "bench", ingested_at, pseudonymiser)
        for line in lines:
            normaliser.normalise(to_envelope(orjson.loads(line)))

    parse_rate, parse_s = _median_rate(n, parse)
    norm_rate, norm_s = _median_rate(n, normalise)
    land_rate, land_s, land_n = _land(population, start)
    print(f"\n{n} marketplace events (seed 7, 3000 candidates, {start}..{end}); median of {ROUNDS} rounds\n")
    print(f"{'step':<34}{'events/s':>12}{'median s':>10}{'vs parse':>10}")
    print(f"{'orjson parse only':<34}{parse_rate:>12,.0f}{parse_s:>10.2f}{1:>10.1f}")
    print(f"{'parse + map + validate + pseudonymise':<34}{norm_rate:>12,.0f}{norm_s:>10.2f}{parse_rate / norm_rate:>10.1f}")
    print(f"{'land in S3 (load_to_raw, 1 day x7)':<34}{land_rate:>12,.0f}{land_s:>10.2f}{parse_rate / land_rate:>10.1f}")
    print(f"\nland: {land_n} events over 7 daily batches into moto_server over HTTP, incl. GX gate and commit")


def _land(population, start: date):
    from hiring_signals.config import load_settings
    from hiring_signals.embedded import free_port, start_moto
    from hiring_signals.ingest import load_to_raw
    from hiring_signals.storage import Interval, Lake

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        moto = start_moto(port, Path(tmp))
        try:
            settings = load_settings({"HS_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}", "HS_HOME": tmp})
            lake = Lake(settings.s3)
            lake.ensure_buckets()
            pseudonymiser = Pseudonymiser(b"b" * 32)
            days = []
            for d in range(7):
                s = datetime.combine(start + timedelta(days=d), datetime.min.time(), tzinfo=timezone.utc)
                interval = Interval(s, s + timedelta(days=1))
                lo, hi = population.window(int(s.timestamp() * 1e6), int(interval.end.timestamp() * 1e6))
                days.append((interval, population.records[lo:hi]))
            load_to_raw(lake, "marketplace", days[0][0], pseudonymiser, to_envelope, records=days[0][1])  # warm GX
            total = sum(len(r) for _, r in days)
            rate, med = _median_rate(total, lambda: [load_to_raw(lake, "marketplace", i, pseudonymiser, to_envelope,
                                                                 records=r) for i, r in days])
            return rate, med, total
        finally:
            moto.stop()


if __name__ == "__main__":
    main()
