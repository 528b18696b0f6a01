"""Run the marketplace simulator: `python -m hiring_signals.simulators.marketplace --port 9471 --seed 7`.

Prints one line, "marketplace simulator serving N records on http://127.0.0.1:PORT", then serves until
SIGTERM or SIGINT and shuts down cleanly (exit status 0).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from hiring_signals.simulators._http import add_fault_arguments, fault_settings, serve_until_signal
from hiring_signals.simulators._http import parse_date as _date
from hiring_signals.simulators.marketplace.population import generate
from hiring_signals.simulators.marketplace.server import FaultConfig, MarketplaceSimulator


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
    add_fault_arguments(p, retry_after_help="Retry-After seconds on 429")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = fault_settings(args)
    try:
        faults = FaultConfig(**settings)
        population = generate(args.seed, args.start, args.end, candidates=args.candidates, employers=args.employers,
                              late_rate=args.late_rate, redelivery_rate=args.redelivery_rate)
        simulator = MarketplaceSimulator(population, host=args.host, port=args.port, faults=faults, token=args.token,
                                         access_log=args.access_log)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    return serve_until_signal(simulator, "marketplace", len(population.records))


if __name__ == "__main__":
    sys.exit(main())
