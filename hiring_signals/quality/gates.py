"""Great Expectations checkpoints that stand between the stages.

A gate validates one batch (a pandas or Spark DataFrame) against a committed suite file and returns a
`GateResult`; `enforce()` turns a failed result into `GateFailed`, whose message says which expectations
failed, on which columns, with sample values. Callers persist `GateResult.as_dict()` next to the batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hiring_signals.quality.suites import SUITES_DIR


class GateFailed(RuntimeError):
    def __init__(self, result: "GateResult"):
        self.result = result
        super().__init__(result.summary())


@dataclass
class GateResult:
    suite: str
    batch: str
    success: bool
    evaluated: int
    failures: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        if self.success:
            return f"GX suite {self.suite!r} passed on {self.batch}: {self.evaluated} expectations"
        lines = [f"GX suite {self.suite!r} FAILED on {self.batch}: {len(self.failures)} of {self.evaluated} expectations"]
        for f in self.failures:
            where = f" on {f['column']}" if f.get("column") else ""
            cond = f" where {f['condition']}" if f.get("condition") else ""
            detail = f"unexpected {f['unexpected_count']}" if f.get("unexpected_count") is not None else f"observed {f.get('observed')}"
            sample = f", e.g. {f['sample']}" if f.get("sample") else ""
            errors = f" (errors: {f['errors']})" if f.get("errors") else ""
            lines.append(f"  - {f['type']}{where}{cond}: {detail}{sample}{errors}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"suite": self.suite, "batch": self.batch, "success": self.success, "evaluated": self.evaluated,
                "failures": self.failures}


def load_suite(name: str, directory: Path = SUITES_DIR):
    import great_expectations as gx

    path = directory / f"{name}.json"
    data = json.loads(path.read_text())
    data.pop("id", None)
    suite = gx.ExpectationSuite(**data)
    # GX drops (and only logs) expectations whose type it does not know; a gate must not silently shrink.
    if len(suite.expectations) != len(data.get("expectations", [])):
        raise ValueError(f"{path}: {len(data['expectations']) - len(suite.expectations)} expectation(s) not understood by GX")
    return suite


def _errors(exception_info: dict) -> list[str]:
    if not exception_info:
        return []
    if "raised_exception" in exception_info:
        return [exception_info["exception_message"]] if exception_info["raised_exception"] else []
    return [v["exception_message"] for v in exception_info.values() if isinstance(v, dict) and v.get("raised_exception")]


def validate(suite_name: str, dataframe, *, batch: str, engine: str) -> GateResult:
    """Run `suite_name` on `dataframe` ('pandas' or 'spark') in an ephemeral GX context."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.util import convert_to_json_serializable

    if engine not in {"pandas", "spark"}:
        raise ValueError(f"engine must be 'pandas' or 'spark', got {engine!r}")
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add(load_suite(suite_name))
    source = context.data_sources.add_pandas("batch") if engine == "pandas" else context.data_sources.add_spark("batch")
    batch_definition = source.add_dataframe_asset(name=suite_name).add_batch_definition_whole_dataframe("whole")
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=suite_name, validation_definitions=[definition],
                      result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})
    )
    run = checkpoint.run(batch_parameters={"dataframe": dataframe})

    failures, evaluated = [], 0
    for suite_result in run.run_results.values():
        for r in suite_result.results:
            evaluated += 1
            if r.success:
                continue
            kwargs = r.expectation_config.kwargs
            out = convert_to_json_serializable(r.result or {})
            column = kwargs.get("column") or kwargs.get("column_list")
            if "column_A" in kwargs:
                column = [kwargs["column_A"], kwargs["column_B"]]
            condition = kwargs.get("row_condition")
            failures.append({
                "type": r.expectation_config.type,
                "column": column,
                "condition": str(condition) if condition else None,
                "unexpected_count": out.get("unexpected_count"),
                "sample": out.get("partial_unexpected_list"),
                "observed": out.get("observed_value"),
                "errors": _errors(r.exception_info or {}),
            })
    return GateResult(suite=suite_name, batch=batch, success=bool(run.success), evaluated=evaluated, failures=failures)


def enforce(result: GateResult) -> GateResult:
    if not result.success:
        raise GateFailed(result)
    return result
