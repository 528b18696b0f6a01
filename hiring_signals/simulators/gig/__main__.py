"""Run the gig platform simulator: `python -m hiring_signals.simulators.gig --port 9472 --seed 7`.

Use the same --seed, --candidates, --employers, --start and --end as the marketplace simulator so both
platforms share their people. Prints one line, "gig simulator serving N records on http://127.0.0.1:PORT",
then serves until SIGTERM or SIGINT and shuts down cleanly (exit status 0).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import date

from hiring_signals.simulators.gig.population import generate
from hiring_signals.simulators.gig.server import FaultConfig, GigSimulator


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hiring_signals.simulators.gig",
                                description="Serve a deterministic gig / freelance platform API over HTTP.")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9472, help="port (0 picks a free one; default 9472)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--candidates", type=int, default=3000, help="marketplace population size the people come from")
    p.add_argument("--employers", type=int, default=300, help="marketplace employers; the gig platform's clients")
    p.add_argument("--start", type=_date, default=date(2026, 5, 1))
    p.add_argument("--end", type=_date, default=date(2026, 11, 1))
    p.add_argument("--late-rate", type=float, default=0.04)
    p.add_argument("--duplicate-rate", type=float, default=0.015)
    p.add_argument("--retouch-rate", type=float, default=0.02)
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--rate-5xx", type=float, default=0.0)
    p.add_argument("--rate-timeout", type=float, default=0.0)
    p.add_argument("--timeout-delay", type=float, default=5.0, help="seconds a 'timeout' fault delays a response")
    p.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on 429 and 503")
    p.add_argument("--retry-after-format", choices=("seconds", "http-date"), default="seconds")
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
                             retry_after_format=args.retry_after_format, timeout_delay_s=args.timeout_delay,
                             max_consecutive_faults=args.max_consecutive_faults, malformed_rate=args.malformed_rate)
        population = generate(args.seed, args.start, args.end, candidates=args.candidates, employers=args.employers,
                              late_rate=args.late_rate, duplicate_rate=args.duplicate_rate,
                              retouch_rate=args.retouch_rate)
        simulator = GigSimulator(population, host=args.host, port=args.port, faults=faults, token=args.token,
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
    print(f"gig simulator serving {len(population.records)} records on {simulator.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
