"""Run the gig platform simulator: `python -m hiring_signals.simulators.gig --port 9472 --seed 7`.

Use the same --seed, --candidates, --employers, --start and --end as the marketplace simulator so both
platforms share their people. Prints one line, "gig simulator serving N records on http://127.0.0.1:PORT",
then serves until SIGTERM or SIGINT and shuts down cleanly (exit status 0).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from hiring_signals.simulators._http import add_fault_arguments, fault_settings, serve_until_signal
from hiring_signals.simulators._http import parse_date as _date
from hiring_signals.simulators.gig.population import generate
from hiring_signals.simulators.gig.server import FaultConfig, GigSimulator


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
    add_fault_arguments(p, retry_after_help="Retry-After seconds on 429 and 503", retry_after_format=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = fault_settings(args)
    try:
        faults = FaultConfig(**settings, retry_after_format=args.retry_after_format)
        population = generate(args.seed, args.start, args.end, candidates=args.candidates, employers=args.employers,
                              late_rate=args.late_rate, duplicate_rate=args.duplicate_rate,
                              retouch_rate=args.retouch_rate)
        simulator = GigSimulator(population, host=args.host, port=args.port, faults=faults, token=args.token,
                                 access_log=args.access_log)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    return serve_until_signal(simulator, "gig", len(population.records))


if __name__ == "__main__":
    sys.exit(main())
