"""Where Spark's time goes, from its event log (spark.eventLog.enabled to a local directory, uncompressed).

The status tracker only reports task counts, and a SparkListener needs JVM-side code; the event log has
everything after the fact: per stage its wall time, the summed executor run / CPU / GC time of its tasks,
rows read and shuffle bytes; per SQL plan node its timing metrics (WholeStageCodegen duration, aggregation
build, sort, scan, shuffle write), mapped through the accumulator ids in the SQL execution events, including
the plans adaptive execution re-optimised. What is not in any job (wall time of the region minus the jobs'
wall time) is the driver: Catalyst planning, code generation before the first task, Arrow conversion and the
Python side of collecting.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

EVENT_LOG_CONF = {
    "spark.eventLog.enabled": "true",
    "spark.eventLog.compress": "false",
    "spark.eventLog.rolling.enabled": "false",
}
_CODEGEN = re.compile(r"WholeStageCodegen \((\d+)\)")


@dataclass
class StageProfile:
    stage_id: int
    job_ids: list[int]
    tasks: int
    wall_ms: int
    run_ms: int
    cpu_ms: int
    gc_ms: int
    input_rows: int
    shuffle_read_bytes: int
    shuffle_write_bytes: int
    operators: str
    description: str


@dataclass
class Profile:
    stages: list[StageProfile]
    jobs_wall_ms: int
    operator_ms: dict[str, float] = field(default_factory=dict)  # "<node>: <metric>" -> total ms

    @property
    def cpu_s(self) -> float:
        return sum(s.cpu_ms for s in self.stages) / 1000


def event_log_conf(directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    return {**EVENT_LOG_CONF, "spark.eventLog.dir": directory.resolve().as_uri()}


def _events(path: Path):
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")) if path.is_dir() else [path]
    for file in files:
        with file.open() as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)


def _walk(plan: dict, execution: int, codegen_ops: dict[tuple[int, int], list[str]],
          metrics: dict[int, tuple[int, str, str, str]], inside: int | None = None) -> None:
    name = plan.get("nodeName", "")
    for metric in plan.get("metrics", []):
        metrics[int(metric["accumulatorId"])] = (execution, name, metric["name"], metric.get("metricType", ""))
    match = _CODEGEN.fullmatch(name)
    if match:
        inside = int(match.group(1))
    elif name == "InputAdapter":
        inside = None
    elif inside is not None:
        codegen_ops[(execution, inside)].append(name)
    for child in plan.get("children", []):
        _walk(child, execution, codegen_ops, metrics, inside)


def _label(execution: int, node: str, codegen_ops: dict[tuple[int, int], list[str]]) -> str:
    """A WholeStageCodegen node by the operators it fused (its number alone repeats in every plan)."""
    match = _CODEGEN.fullmatch(node)
    if not match:
        return node
    ops = codegen_ops.get((execution, int(match.group(1))), [])
    return "codegen[" + ", ".join(dict.fromkeys(ops)) + "]"


def parse_event_log(path: Path, window_ms: tuple[int, int] | None = None) -> Profile:
    """The profile of the jobs submitted within `window_ms` (epoch milliseconds; all jobs when None) of the
    application logged under `path`. A time window, not a job group: jobs that adaptive execution and
    broadcasts submit from other threads do not carry the caller's job group."""
    codegen_ops: dict[tuple[int, int], list[str]] = defaultdict(list)
    metric_of: dict[int, tuple[int, str, str, str]] = {}
    stage_execution: dict[int, int] = {}
    stage_jobs: dict[int, list[int]] = defaultdict(list)
    job_times: dict[int, list[int]] = {}
    tasks: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    completed: dict[int, dict] = {}
    for event in _events(path):
        kind = event["Event"]
        if kind.endswith("SparkListenerSQLExecutionStart") or kind.endswith("SparkListenerSQLAdaptiveExecutionUpdate"):
            execution = int(event["executionId"])
            for key in [k for k in codegen_ops if k[0] == execution]:  # the re-optimised plan replaces the last
                del codegen_ops[key]
            _walk(event["sparkPlanInfo"], execution, codegen_ops, metric_of)
        elif kind == "SparkListenerJobStart":
            job = event["Job ID"]
            if window_ms is None or window_ms[0] <= event["Submission Time"] <= window_ms[1]:
                job_times[job] = [event["Submission Time"], event["Submission Time"]]
                execution = (event.get("Properties") or {}).get("spark.sql.execution.id")
                for stage in event["Stage IDs"]:
                    stage_jobs[stage].append(job)
                    if execution is not None:
                        stage_execution[stage] = int(execution)
        elif kind == "SparkListenerJobEnd" and event["Job ID"] in job_times:
            job_times[event["Job ID"]][1] = event["Completion Time"]
        elif kind == "SparkListenerTaskEnd" and event["Stage ID"] in stage_jobs:
            m = event.get("Task Metrics") or {}
            t = tasks[event["Stage ID"]]
            t["run_ms"] += m.get("Executor Run Time", 0)
            t["cpu_ms"] += m.get("Executor CPU Time", 0) // 1_000_000
            t["gc_ms"] += m.get("JVM GC Time", 0)
            t["input_rows"] += (m.get("Input Metrics") or {}).get("Records Read", 0)
            read = m.get("Shuffle Read Metrics") or {}
            t["shuffle_read_bytes"] += read.get("Remote Bytes Read", 0) + read.get("Local Bytes Read", 0)
            t["shuffle_write_bytes"] += (m.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0)
        elif kind == "SparkListenerStageCompleted" and event["Stage Info"]["Stage ID"] in stage_jobs:
            completed[event["Stage Info"]["Stage ID"]] = event["Stage Info"]

    stages, accumulated = [], {}
    for stage_id, info in sorted(completed.items()):
        scopes = []
        for rdd in info.get("RDD Info", []):
            scope = json.loads(rdd["Scope"])["name"] if rdd.get("Scope") else rdd.get("Name", "")
            if scope not in scopes:
                scopes.append(scope)
        ops = []
        for scope in scopes:
            match = _CODEGEN.fullmatch(scope)
            execution = stage_execution.get(stage_id, -1)
            ops.extend(codegen_ops.get((execution, int(match.group(1))), [scope]) if match else [scope])
        t = tasks[stage_id]
        stages.append(StageProfile(
            stage_id, stage_jobs[stage_id], info.get("Number of Tasks", 0),
            info.get("Completion Time", 0) - info.get("Submission Time", 0), t["run_ms"], t["cpu_ms"], t["gc_ms"],
            t["input_rows"], t["shuffle_read_bytes"], t["shuffle_write_bytes"],
            ", ".join(dict.fromkeys(o for o in ops if o not in ("mapPartitionsInternal", "map", "mapPartitions",
                                                                "InputAdapter", "AdaptiveSparkPlan"))),
            info.get("Stage Name", "").split(" at ")[0]))
        for acc in info.get("Accumulables", []):
            # an accumulator's value at stage completion is cumulative: keep the largest, never add stages
            if acc.get("ID") in metric_of and str(acc.get("Value", "")).lstrip("-").isdigit():
                accumulated[acc["ID"]] = max(accumulated.get(acc["ID"], 0), int(acc["Value"]))
    operator_ms: dict[str, float] = defaultdict(float)
    for acc_id, value in accumulated.items():
        execution, node, name, metric_type = metric_of[acc_id]
        if metric_type in ("timing", "nsTiming"):
            operator_ms[f"{_label(execution, node, codegen_ops)}: {name}"] += value / (1e6 if metric_type == "nsTiming" else 1)
    # jobs overlap (independent stages of one query run as concurrent jobs): the wall time of their union
    jobs_wall, reach = 0, None
    for start, end in sorted(job_times.values()):
        if reach is None or start > reach:
            jobs_wall, reach = jobs_wall + end - start, end
        elif end > reach:
            jobs_wall, reach = jobs_wall + end - reach, end
    return Profile(stages, jobs_wall, dict(operator_ms))


def format_profile(profile: Profile, region_s: float, top: int = 12) -> str:
    lines = [f"Spark jobs' wall time {profile.jobs_wall_ms / 1000:.1f}s of a {region_s:.1f}s region: "
             f"{max(0.0, region_s - profile.jobs_wall_ms / 1000):.1f}s outside any job (driver: planning, codegen, "
             "Python-side Arrow work, the manifest)",
             f"tasks: {sum(s.tasks for s in profile.stages)} in {len(profile.stages)} stages, executor run time "
             f"{sum(s.run_ms for s in profile.stages) / 1000:.1f}s, CPU {sum(s.cpu_ms for s in profile.stages) / 1000:.1f}s, "
             f"GC {sum(s.gc_ms for s in profile.stages) / 1000:.1f}s (run >> CPU: tasks waited for a core)",
             f"{'stage':>5} {'tasks':>5} {'wall s':>7} {'run s':>7} {'cpu s':>7} {'gc s':>6} {'rows in':>11} "
             f"{'shuf rd MB':>10} {'shuf wr MB':>10}  operators"]
    for s in sorted(profile.stages, key=lambda s: -s.wall_ms)[:top]:
        lines.append(f"{s.stage_id:>5} {s.tasks:>5} {s.wall_ms / 1000:>7.1f} {s.run_ms / 1000:>7.1f} "
                     f"{s.cpu_ms / 1000:>7.1f} {s.gc_ms / 1000:>6.1f} {s.input_rows:>11,} "
                     f"{s.shuffle_read_bytes / 2**20:>10.1f} {s.shuffle_write_bytes / 2**20:>10.1f}  "
                     f"{s.operators[:110]}")
    lines.append("operator timing metrics (summed over tasks; WholeStageCodegen duration covers its fused operators):")
    for name, ms in sorted(profile.operator_ms.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {ms / 1000:>8.1f}s  {name[:150]}")
    return "\n".join(lines)
