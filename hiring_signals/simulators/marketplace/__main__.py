"""Run the marketplace simulator: `python -m hiring_signals.simulators.marketplace --port 9471 --seed 7`.

Prints one line, "marketplace simulator serving N records on http://127.0.0.1:PORT", then serves until
SIGTERM or SIGINT and shuts down cleanly (exit status 0).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import date

from hiring_signals.simulators.marketplace.population import generate
from hiring_signals.simulators.marketplace.server import FaultConfig, MarketplaceSimulator


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hiring_signals.simulators.marketplace",
                                description="Serve a deterministic micro-internship marketplace API over HTTP.")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9471, help="port (0 picks a free one; default 9471)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--candidates", type=int, default=3000)
    p.add_argument("--employers", type=int, default=300)
    p.add_argument("--start", type=_date, default=date(2026, 5, 1))
    p.add_argument("--end", type=_date, default=date(2026, 11, 1))
    p.add_argument("--late-rate", type=float, default=0.03)
    p.add_argument("--redelivery-rate", type=float, default=0.01)
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--rate-5xx", type=float, default=0.0)
    p.add_argument("--rate-timeout", type=float, default=0.0)
    p.add_argument("--timeout-delay", type=float, default=5.0, help="seconds a 'timeout' fault delays a response")
    p.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on 429")
    p.add_argument("--max-consecutive-faults", type=int, default=2)
    p.add_argument("--malformed-rate", type=float, default=0.005)
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--token", default=None, help="require 'Authorization: Bearer <token>'")
    p.add_argument("--access-log", action="store_true", help="log every request to stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.access_log:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        faults = FaultConfig(seed=args.fault_seed, rate_429=args.rate_429, rate_5xx=args.rate_5xx,
                             rate_timeout=args.rate_timeout, retry_after_s=args.retry_after,
                             timeout_delay_s=args.timeout_delay, max_consecutive_faults=args.max_consecutive_faults,
                             malformed_rate=args.malformed_rate)
        population = generate(args.seed, args.start, args.end, candidates=args.candidates, employers=args.employers,
                              late_rate=args.late_rate, redelivery_rate=args.redelivery_rate)
        simulator = MarketplaceSimulator(population, host=args.host, port=args.port, faults=faults, token=args.token,
                                         access_log=args.access_log)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def _on_signal(signum, _frame) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        simulator.start()
    except OSError as exc:
        print(f"error: cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"marketplace simulator serving {len(population.records)} records on {simulator.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
