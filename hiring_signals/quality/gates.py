"""Great Expectations checkpoints that stand between the stages.

A gate validates one batch (a pandas or Spark DataFrame) against a committed suite file and returns a
`GateResult`; `enforce()` turns a failed result into `GateFailed`, whose message says which expectations
failed, on which columns, with sample values. Callers persist `GateResult.as_dict()` next to the batch.

Every gate run (raw, signals, marts) also lands in GX Data Docs, a static site in `$HS_HOME/data_docs/`
(`hs quality docs` prints where): the suite and the full validation result go to filesystem stores in
`$HS_HOME/gx/` and the site pages for them are rendered, with the index listing every run so far.
The pipeline's record of a gate stays the lake's `ops/validations/`; the site is for people to browse.

Rendering the site costs more than the validation itself (GX recompiles its page templates and re-renders the
index on every build), so a task that gates many batches wraps them in `deferred_data_docs()` and the site is
built once, at the end, for all of them.
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from contextvars import ContextVar
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


def _failures(expectation_results) -> tuple[list[dict], int]:
    from great_expectations.util import convert_to_json_serializable

    failures, evaluated = [], 0
    for r in expectation_results:
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
    return failures, evaluated


def data_docs_dir(home: Path | None = None) -> Path:
    from hiring_signals.config import load_settings

    return (home or load_settings().home) / "data_docs"


@contextmanager
def _locked(directory: Path):
    """Serialise Data Docs updates across processes: parallel gates (two sources' ingestion, the Spark driver)
    would otherwise rewrite index.html over each other."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# (suite, run_results, home) of the gate runs whose Data Docs wait for the end of `deferred_data_docs()`
_DEFERRED_DOCS: ContextVar[list | None] = ContextVar("deferred_data_docs", default=None)


@contextmanager
def deferred_data_docs():
    """Gate runs inside the block add their Data Docs pages in one site build when the block ends, even when it
    ends with an error (the runs before it were real and are recorded)."""
    if _DEFERRED_DOCS.get() is not None:  # nested: the outermost block publishes
        yield
        return
    pending: list = []
    token = _DEFERRED_DOCS.set(pending)
    try:
        yield
    finally:
        _DEFERRED_DOCS.reset(token)
        by_home: dict = {}
        for suite, run_results, home in pending:
            suites, results = by_home.setdefault(home, ({}, {}))
            suites[suite.name] = suite
            results.update(run_results)
        for home, (suites, results) in by_home.items():
            publish_data_docs(list(suites.values()), results, home)


def publish_data_docs(suites: list, run_results: dict, home: Path | None = None) -> Path:
    """Store `run_results` (checkpoints', by ValidationResultIdentifier) and `suites`, render their Data Docs
    pages and the index; return the site's index.html."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig, FilesystemStoreBackendDefaults

    site = data_docs_dir(home)
    stores = site.parent / "gx"
    config = DataContextConfig(
        store_backend_defaults=FilesystemStoreBackendDefaults(root_directory=str(stores)),
        data_docs_sites={"local_site": {
            "class_name": "SiteBuilder", "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }},
    )
    with _locked(stores):
        # configured in code, not by a great_expectations.yml that concurrent writers would have to share
        context = gx.get_context(project_config=config, mode="ephemeral")
        for suite in suites:
            context.suites.add_or_update(suite)
        for identifier, result in run_results.items():
            context.validation_results_store.set(identifier, result)
        context.build_data_docs(site_names=["local_site"], resource_identifiers=list(run_results))
    return site / "index.html"


def validate(suite_name: str, dataframe, *, batch: str, engine: str, parameters: dict | None = None,
             suites_dir: Path = SUITES_DIR, data_docs: bool = True, home: Path | None = None) -> GateResult:
    """Run `suite_name` on `dataframe` ('pandas' or 'spark') in an ephemeral GX context.

    `parameters` are the suite's runtime expectation parameters ({"$PARAMETER": name} in the suite file).
    With `data_docs` (the default) the run is added to the Data Docs site under `home` (default $HS_HOME)/data_docs/
    (at the end of the enclosing `deferred_data_docs()` block, if any).
    """
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if engine not in {"pandas", "spark"}:
        raise ValueError(f"engine must be 'pandas' or 'spark', got {engine!r}")
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add(load_suite(suite_name, suites_dir))
    source = context.data_sources.add_pandas("batch") if engine == "pandas" else context.data_sources.add_spark("batch")
    batch_definition = source.add_dataframe_asset(name=suite_name).add_batch_definition_whole_dataframe("whole")
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=suite_name, validation_definitions=[definition],
                      result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})
    )
    # GX keys its stores by run name, where a "/" would be a directory: batches name sources like "gig/2026..."
    run = checkpoint.run(batch_parameters={"dataframe": dataframe}, expectation_parameters=parameters or None,
                         run_id=RunIdentifier(run_name=batch.replace("/", "__")))
    if data_docs:
        deferred = _DEFERRED_DOCS.get()
        if deferred is None:
            publish_data_docs([load_suite(suite_name, suites_dir)], run.run_results, home)
        else:
            deferred.append((load_suite(suite_name, suites_dir), run.run_results, home))

    failures, evaluated = [], 0
    for suite_result in run.run_results.values():
        more, count = _failures(suite_result.results)
        failures += more
        evaluated += count
    return GateResult(suite=suite_name, batch=batch, success=bool(run.success), evaluated=evaluated, failures=failures)


def enforce(result: GateResult) -> GateResult:
    if not result.success:
        raise GateFailed(result)
    return result
