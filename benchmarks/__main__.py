"""`make bench`: ingestion throughput, measured side by side in one run (medians of repeated rounds).

  parse      orjson.loads of each record (the floor: what any JSON pipeline pays)
  normalise  orjson.loads + source mapping + contract v1 validation + pseudonymisation (per event)
  land       load_to_raw into the embedded S3 endpoint over HTTP: normalise, dedupe, GX gate, Parquet, commit;
             once as seven daily batches (nightly shape) and once as one batch of the same events, which
             separates the fixed per-batch cost (GX checkpoint, manifest commit) from the per-event cost

Then the signal job at scale (benchmarks.scale): Spark local[2] vs a DuckDB SQL reference, at HS_BENCH_SCALE_SIZES
events (1M here; `make bench-scale` adds 10M).
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
from hiring_signals.simulators import gig
from hiring_signals.simulators.marketplace import generate
from hiring_signals.sources import gig as gig_source
from hiring_signals.sources.marketplace import to_envelope as marketplace_envelope

ROUNDS = 5
START, END = date(2026, 5, 1), date(2026, 7, 1)


def _median(fn) -> float:
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _row(label: str, n: int, seconds: float, parse_rate: float | None) -> str:
    rate = n / seconds
    ratio = f"{parse_rate / rate:>9.1f}x" if parse_rate else f"{'1.0x':>10}"
    return f"{label:<52}{n:>9,}{rate:>12,.0f}{seconds:>10.3f}{ratio}"


def main() -> None:
    pseudonymiser = Pseudonymiser(b"b" * 32)
    ingested_at = datetime.combine(END, datetime.min.time(), tzinfo=timezone.utc)
    market = generate(seed=7, start=START, end=END, candidates=3000, employers=300)
    gig_pop = gig.generate(seed=7, start=START, end=END, candidates=3000, employers=300)
    sources = {
        "marketplace": ([orjson.dumps(r) for r in market.records], marketplace_envelope),
        "gig (API v1)": ([orjson.dumps(gig.render(r, "1")) for r in gig_pop.records], gig_source.GigMapper("1").to_envelope),
    }
    print(f"\nIngestion throughput, {START}..{END} (seed 7, 3000 candidates); median of {ROUNDS} rounds, side by side\n")
    print(f"{'step':<52}{'events':>9}{'events/s':>12}{'median s':>10}{'vs parse':>10}")
    for name, (lines, to_envelope) in sources.items():
        def parse():
            for line in lines:
                orjson.loads(line)

        def normalise():
            normaliser = Normaliser(name.split()[0], "bench", ingested_at, pseudonymiser)
            for line in lines:
                normaliser.normalise(to_envelope(orjson.loads(line)))

        parse_s = _median(parse)
        norm_s = _median(normalise)
        parse_rate = len(lines) / parse_s
        print(_row(f"{name}: orjson parse only", len(lines), parse_s, None))
        print(_row(f"{name}: parse + map + validate + pseudonymise", len(lines), norm_s, parse_rate))
    daily_s, one_s, landed = _land(market)
    market_parse_rate = len(sources["marketplace"][0]) / _median(lambda: [orjson.loads(l) for l in sources["marketplace"][0]])
    print(_row("marketplace: land in S3, 7 daily batches", landed, daily_s, market_parse_rate))
    print(_row("marketplace: land in S3, the same as 1 batch", landed, one_s, market_parse_rate))
    print("\nland = load_to_raw into moto_server over HTTP (normalise, dedupe, GX raw gate, Parquet, manifest commit);"
          "\nthe gap between its two rows is the fixed cost per batch, mostly the GX checkpoint.")


def _land(population) -> tuple[float, float, int]:
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
            for d in range(35, 42):  # a week in June, when the population is in full swing
                s = datetime.combine(START + timedelta(days=d), datetime.min.time(), tzinfo=timezone.utc)
                interval = Interval(s, s + timedelta(days=1))
                lo, hi = population.window(int(s.timestamp() * 1e6), int(interval.end.timestamp() * 1e6))
                days.append((interval, population.records[lo:hi]))
            week = Interval(days[0][0].start, days[-1][0].end)
            week_records = [r for _, r in days for r in r]

            def land_daily():
                for interval, records in days:
                    load_to_raw(lake, "marketplace", interval, pseudonymiser, marketplace_envelope, records=records)

            def land_once():
                load_to_raw(lake, "marketplace", week, pseudonymiser, marketplace_envelope, records=week_records)

            land_once()  # warm GX and the connection pool
            return _median(land_daily), _median(land_once), len(week_records)
        finally:
            moto.stop()


if __name__ == "__main__":
    main()
    from benchmarks import scale

    scale.main()
