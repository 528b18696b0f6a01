"""The dbt project renders as one Airflow task per dbt node (cosmos), from a manifest staged without running dbt
in the DAG processor, with target-independent Assets on each model/seed."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from hiring_signals.config import REPO_ROOT, load_settings
from hiring_signals.warehouse import cosmos_config
from hiring_signals.warehouse.cosmos_config import (
    WAREHOUSE_ASSET_PREFIX,
    build_dbt_task_group,
    external_seed_dirs,
    project_fingerprint,
    stage_dbt_project,
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    home = tmp_path_factory.mktemp("hs-home")
    return load_settings({"HS_HOME": str(home), "HS_PSEUDONYM_KEY": "k" * 32})


@pytest.fixture(scope="module")
def staged(settings):
    return stage_dbt_project(settings)


@pytest.fixture(scope="module")
def manifest(staged) -> dict:
    return json.loads(staged.manifest_path.read_text())


@pytest.fixture(scope="module")
def rendered(settings, staged):
    from airflow.sdk import DAG

    with DAG("cosmos_render_test", start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), schedule=None,
             default_args={"retries": 1}) as dag:
        group = build_dbt_task_group(settings)
    return dag, group


def nodes(manifest: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == resource_type}


def test_the_stage_holds_the_vocabulary_seed_that_lives_outside_the_project(staged, manifest):
    assert external_seed_dirs() == [REPO_ROOT / "hiring_signals" / "contract" / "vocabulary"]
    staged_csv = staged.project_dir / "seeds" / "vocabulary" / "skill_vocabulary.csv"
    assert staged_csv.read_bytes() == (REPO_ROOT / "hiring_signals/contract/vocabulary/skill_vocabulary.csv").read_bytes()
    import yaml

    assert yaml.safe_load((staged.project_dir / "dbt_project.yml").read_text())["seed-paths"] == ["seeds"]
    assert "seed.hiring_signals.skill_vocabulary" in manifest["nodes"]
    # profiles stay in dbt_project/ (read by cosmos from there); of what dbt generates only the partial parse is
    # kept, for cosmos to start each task's dbt from
    assert not {"logs", "profiles.yml"} & {p.name for p in staged.project_dir.iterdir()}
    assert [p.name for p in (staged.project_dir / "target").iterdir()] == ["partial_parse.msgpack"]


def test_staging_is_keyed_by_content_and_not_redone(settings, staged, tmp_path):
    mtime = staged.manifest_path.stat().st_mtime_ns
    assert stage_dbt_project(settings) == staged
    assert staged.manifest_path.stat().st_mtime_ns == mtime
    assert staged.root.name == f"duckdb-{staged.fingerprint[:16]}"

    # a copy of the project (same relative layout for the external seed): same content, same fingerprint;
    # any edit, another fingerprint
    copy = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "dbt_project", copy / "dbt_project",
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    shutil.copytree(REPO_ROOT / "hiring_signals" / "contract" / "vocabulary", copy / "hiring_signals/contract/vocabulary")
    assert project_fingerprint("duckdb", copy / "dbt_project") == staged.fingerprint
    assert project_fingerprint("postgres", copy / "dbt_project") != staged.fingerprint
    (copy / "hiring_signals/contract/vocabulary/skill_vocabulary.csv").write_text("skill_id\n")
    assert project_fingerprint("duckdb", copy / "dbt_project") != staged.fingerprint


def test_old_stages_are_pruned(tmp_path):
    for i, name in enumerate(["duckdb-a", "duckdb-b", "duckdb-c", "duckdb-d", "postgres-a"]):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text("{}")
        os.utime(tmp_path / name / "manifest.json", ns=(i * 10**9, i * 10**9))
    removed = cosmos_config.prune_stages(tmp_path, "duckdb", keep=2)
    assert sorted(p.name for p in removed) == ["duckdb-a", "duckdb-b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["duckdb-c", "duckdb-d", "postgres-a"]


def test_a_broken_project_fails_parse_loudly(settings, tmp_path):
    copy = tmp_path / "dbt_project"
    shutil.copytree(REPO_ROOT / "dbt_project", copy, ignore=shutil.ignore_patterns("target", "logs"))
    (copy / "models" / "marts" / "broken.sql").write_text("select * from {{ ref('no_such_model') }}")
    with pytest.raises(cosmos_config.DbtParseFailed, match="no_such_model"):
        stage_dbt_project(settings, project_dir=copy)


def test_one_task_per_model_and_seed_each_followed_by_its_tests(rendered, manifest):
    dag, _ = rendered
    tasks = dag.task_dict
    models = {v["name"] for v in nodes(manifest, "model").values()}
    seeds = {v["name"] for v in nodes(manifest, "seed").values()}
    assert {t.split(".")[1] for t in tasks if t.endswith(".run")} == models
    assert {t.split(".")[1] for t in tasks if t.endswith(".seed")} == seeds
    tested = {dep for t in nodes(manifest, "test").values() for dep in t["depends_on"]["nodes"]}
    tested |= {dep for t in manifest.get("unit_tests", {}).values() for dep in t["depends_on"]["nodes"]}
    for unique_id in nodes(manifest, "model") | nodes(manifest, "seed"):
        kind, name = ("run" if unique_id.startswith("model.") else "seed"), unique_id.split(".")[-1]
        if unique_id in tested:
            test = tasks[f"dbt.{name}.test"]
            assert test.upstream_task_ids == {f"dbt.{name}.{kind}"}
    # every model runs after what it selects from (their tests included)
    for unique_id, node in nodes(manifest, "model").items():
        for parent in node["depends_on"]["nodes"]:
            if parent.split(".")[0] in {"model", "seed"}:
                parent_name = parent.split(".")[-1]
                assert tasks[f"dbt.{node['name']}.run"].upstream_task_ids & {
                    f"dbt.{parent_name}.test", f"dbt.{parent_name}.run", f"dbt.{parent_name}.seed"}


def test_tests_across_models_run_once_after_all_their_models(rendered, manifest):
    dag, _ = rendered
    multi = {k: v for k, v in nodes(manifest, "test").items()
             if len({d for d in v["depends_on"]["nodes"] if d.split(".")[0] in {"model", "seed"}}) > 1}
    assert multi, "the project has relationships tests across models"
    detached = {t: task for t, task in dag.task_dict.items() if t.endswith("_test") and not t.endswith(".test")}
    assert len(detached) == len(multi)
    for task in detached.values():
        assert len(task.upstream_task_ids) >= 2


def test_assets_are_target_independent_and_emitted_after_tests(rendered, manifest):
    dag, _ = rendered
    outlets = {t.task_id: [o.uri for o in t.outlets] for t in dag.tasks if t.outlets}
    expected = {v["name"] for v in (nodes(manifest, "model") | nodes(manifest, "seed")).values()}
    assert sorted(uri for uris in outlets.values() for uri in uris) == sorted(WAREHOUSE_ASSET_PREFIX + n for n in expected)
    for task_id, uris in outlets.items():
        assert len(uris) == 1 and task_id.endswith((".test", ".run", ".seed"))
        # on the node's test task when it has one: downstream DAGs hear of a table only once it is tested
        assert task_id.endswith(".test") or task_id.rsplit(".", 1)[0] + ".test" not in dag.task_dict


def test_tasks_run_dbt_in_process_with_the_settings_target_and_retries(rendered, settings):
    from cosmos.constants import InvocationMode

    dag, _ = rendered
    for task in dag.tasks:
        assert task.invocation_mode == InvocationMode.DBT_RUNNER
        assert task.profile_config.target_name == settings.warehouse.target
        assert task.on_execute_callback == [cosmos_config.export_warehouse_env] or \
            task.on_execute_callback == cosmos_config.export_warehouse_env
        assert task.retries == 1
        assert "HS_PG_PASSWORD" not in json.dumps(task.env or {})


def test_export_warehouse_env_sets_what_the_profile_reads(monkeypatch, tmp_path):
    monkeypatch.setenv("HS_HOME", str(tmp_path))
    monkeypatch.delenv("HS_DUCKDB_PATH", raising=False)
    cosmos_config.export_warehouse_env({})
    assert os.environ["HS_DUCKDB_PATH"] == str(tmp_path / "warehouse" / "warehouse.duckdb")
    assert os.environ["HS_WAREHOUSE_TARGET"] == "duckdb"
