"""The GX gate on the published marts: one suite per mart (expectations/suites/marts.<mart>.json), run together.

Each mart is read from the warehouse (DuckDB or PostgreSQL, through the same connection code as the loader, so
both targets are validated by the same pandas engine and the same suites) and validated with two kinds of
runtime parameters:
- `values__<mart>__<column>`: the distinct values of a referenced mart's key (dim_candidates.candidate_ref,
  dim_employers.employer_ref, ...), so a fact row pointing at no dimension row fails referential integrity;
- `min_rows` / `max_rows`: the row count of the previous publication on the same target, divided / multiplied
  by the suite's `row_count_max_factor` times the days between the two as-of dates (a nightly run moves a mart by
  a day's worth of data; a run after a week's gap, e.g. coalesced Asset events during a backfill, may move it
  by a week's). The previous counts come from the stored result of the latest earlier as-of date that passed;
  with none (the first publication), or from an empty mart, the count is only required to be non-negative;
  growth is scaled from at least ROW_COUNT_GROWTH_FLOOR rows.
The result of the whole gate (`MartsGateResult.as_dict()`) is what the caller stores and what the next run's
bounds are read from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hiring_signals.config import WarehouseSettings
from hiring_signals.quality.gates import GateResult, deferred_data_docs, validate
from hiring_signals.quality.suites import MARTS_SUITE_PREFIX, SUITES_DIR


class MartsGateFailed(RuntimeError):
    def __init__(self, result: "MartsGateResult"):
        self.result = result
        super().__init__(result.summary())


@dataclass
class MartsGateResult:
    batch: str
    target: str
    row_counts: dict[str, int]
    bounds: dict[str, list]  # mart -> [min_rows, max_rows or None]
    previous: str | None  # batch of the result the bounds came from
    marts: dict[str, GateResult] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.marts.values())

    @property
    def evaluated(self) -> int:
        return sum(r.evaluated for r in self.marts.values())

    @property
    def failures(self) -> list[dict]:
        return [{"mart": m, **f} for m, r in self.marts.items() for f in r.failures]

    def summary(self) -> str:
        failed = [r for r in self.marts.values() if not r.success]
        head = (f"GX marts gate {'passed' if not failed else 'FAILED'} on {self.target} {self.batch}: "
                f"{len(self.marts)} marts, {self.evaluated} expectations"
                + (f" (row counts bounded by {self.previous})" if self.previous else " (first publication: no row-count bound)"))
        return "\n".join([head, *(r.summary() for r in failed)])

    def as_dict(self) -> dict:
        return {"suite": "marts", "batch": self.batch, "target": self.target, "success": self.success,
                "evaluated": self.evaluated, "row_counts": self.row_counts, "bounds": self.bounds,
                "previous": self.previous, "failures": self.failures,
                "marts": {m: r.as_dict() for m, r in sorted(self.marts.items())}}


def mart_suite_names(directory: Path = SUITES_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob(f"{MARTS_SUITE_PREFIX}*.json"))


def _suite_parameters(suite_name: str, directory: Path) -> tuple[set[str], float]:
    data = json.loads((directory / f"{suite_name}.json").read_text())
    names = set()
    for expectation in data["expectations"]:
        for value in expectation["kwargs"].values():
            if isinstance(value, dict) and "$PARAMETER" in value:
                names.add(value["$PARAMETER"])
    return names, float(data["meta"]["row_count_max_factor"])


# Growth is bounded from at least this many rows: a ratio on a handful says little. A cold-start backfill's first
# week held 10 deliverables and its next publication, six weeks on, 1,619 (162x, above 3 x 42 days): no fan-out,
# just a young history (seen in the demo). On a mart of thousands of rows this floor changes nothing.
ROW_COUNT_GROWTH_FLOOR = 100


def row_count_bounds(previous: int | None, factor: float, days: int = 1) -> list:
    """[min_rows, max_rows] for a mart whose previous publication, `days` before, had `previous` rows."""
    if not previous:  # nothing to scale from: the first publication, or a mart that was empty
        return [0, None]
    allowed = factor * max(days, 1)
    return [int(previous // allowed), int(max(previous, ROW_COUNT_GROWTH_FLOOR) * allowed)]


def _days_between(earlier: str | None, later: str) -> int:
    from datetime import date

    try:
        return (date.fromisoformat(later) - date.fromisoformat(earlier)).days if earlier else 1
    except ValueError:  # batches that are not as-of dates
        return 1


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_mart(settings: WarehouseSettings, mart: str):
    """The whole mart as a pandas DataFrame, rows in a fixed order (so failure samples are reproducible)."""
    from hiring_signals.warehouse.loader import warehouse_connection

    table = f"{_quoted(settings.schema)}.{_quoted(mart)}"
    with warehouse_connection(settings) as conn:
        if settings.target == "duckdb":
            columns = [d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description]
            order = ", ".join(_quoted(c) for c in columns)
            return conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetch_arrow_table().to_pandas()
        with conn.cursor() as cur:
            cur.execute(f"SELECT * FROM {table} LIMIT 0")
            columns = [d[0] for d in cur.description]
            cur.execute(f"SELECT * FROM {table} ORDER BY {', '.join(_quoted(c) for c in columns)}")
            frame = cur.fetch_arrow_table().to_pandas()
        conn.rollback()
        return frame


def validate_marts(settings: WarehouseSettings, *, batch: str, previous: dict | None = None,
                   directory: Path = SUITES_DIR, home: Path | None = None) -> MartsGateResult:
    """Validate every mart that has a suite; `previous` is the stored result whose row counts bound this run's.
    Every mart's run is added to the Data Docs site under `home` ($HS_HOME by default) in one build."""
    suites = mart_suite_names(directory)
    if not suites:
        raise FileNotFoundError(f"no {MARTS_SUITE_PREFIX}*.json suites in {directory}")
    frames = {name.removeprefix(MARTS_SUITE_PREFIX): read_mart(settings, name.removeprefix(MARTS_SUITE_PREFIX))
              for name in suites}
    previous_counts = (previous or {}).get("row_counts", {})
    days = _days_between((previous or {}).get("batch"), batch)
    result = MartsGateResult(batch=batch, target=settings.target,
                             row_counts={m: int(len(f)) for m, f in frames.items()}, bounds={},
                             previous=(previous or {}).get("batch"))
    with deferred_data_docs():  # one site build for every mart
        for suite_name in suites:
            mart = suite_name.removeprefix(MARTS_SUITE_PREFIX)
            wanted, factor = _suite_parameters(suite_name, directory)
            low, high = row_count_bounds(previous_counts.get(mart), factor, days)
            result.bounds[mart] = [low, high]
            parameters = {"min_rows": low, "max_rows": high}
            for name in sorted(wanted - set(parameters)):
                _, ref_mart, ref_column = name.split("__", 2)
                if ref_mart not in frames:
                    raise KeyError(f"suite {suite_name} references {ref_mart}.{ref_column}, which has no suite/mart")
                parameters[name] = sorted(frames[ref_mart][ref_column].dropna().unique().tolist())
            result.marts[mart] = validate(suite_name, frames[mart], batch=f"{settings.target}/{batch}", engine="pandas",
                                          parameters=parameters, suites_dir=directory, home=home)
    return result


def enforce_marts(result: MartsGateResult) -> MartsGateResult:
    if not result.success:
        raise MartsGateFailed(result)
    return result
