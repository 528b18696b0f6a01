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
    CROSS_MODEL_TESTS_TASK,
    WAREHOUSE_ASSET_PREFIX,
    build_dbt_task_group,
    cross_model_tests,
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


def built_node(task_id: str) -> tuple[str, str] | None:
    """(resource type, node name) of a per-node `dbt build` task id, e.g. dbt.dim_candidates_model_build."""
    for kind in ("model", "seed"):
        suffix = f"_{kind}_build"
        if task_id.startswith("dbt.") and task_id.endswith(suffix):
            return kind, task_id[len("dbt."):-len(suffix)]
    return None


def test_one_build_task_per_model_and_seed_in_dependency_order(rendered, manifest):
    dag, _ = rendered
    tasks = dag.task_dict
    built = {built_node(t) for t in tasks if built_node(t)}
    assert built == {("model", v["name"]) for v in nodes(manifest, "model").values()} | \
        {("seed", v["name"]) for v in nodes(manifest, "seed").values()}
    # group = the node tasks + the one task of tests spanning models; nothing else (no per-test tasks)
    assert set(tasks) == {f"dbt.{name}_{kind}_build" for kind, name in built} | {f"dbt.{CROSS_MODEL_TESTS_TASK}"}
    for task_id in tasks:
        if built_node(task_id):
            # the node and its own tests (data and unit tests) in one invocation; tests whose other parents are not
            # built yet are left out (CAUTIOUS), they run in the cross-model task
            assert tasks[task_id].base_cmd == ["build"]
            assert str(tasks[task_id].indirect_selection) in {"cautious", "TestIndirectSelection.CAUTIOUS"}
    # every model builds after what it selects from (whose own tests have passed by then)
    for node in nodes(manifest, "model").values():
        for parent in node["depends_on"]["nodes"]:
            kind = parent.split(".")[0]
            if kind in {"model", "seed"}:
                assert f"dbt.{parent.split('.')[-1]}_{kind}_build" in tasks[f"dbt.{node['name']}_model_build"].upstream_task_ids


def test_tests_across_models_run_once_after_every_model(rendered, manifest):
    dag, group = rendered
    every_test = nodes(manifest, "test")
    parents = {k: {d for d in v["depends_on"]["nodes"] if d.split(".")[0] in {"model", "seed"}} for k, v in every_test.items()}
    across = sorted(every_test[k]["name"] for k, p in parents.items() if len(p) != 1)
    assert len(across) >= 20, "relationships tests and the cross-checks against Spark span models"
    assert cross_model_tests(manifest) == across
    # every other test has exactly one model/seed parent, so that node's build task runs it
    assert all(len(p) == 1 for k, p in parents.items() if every_test[k]["name"] not in across)
    task = dag.task_dict[f"dbt.{CROSS_MODEL_TESTS_TASK}"]
    assert task.base_cmd == ["test"] and sorted(task.select.split()) == across
    assert [t.task_id for t in group.get_leaves()] == [task.task_id]
    assert task.upstream_task_ids == {t for t in dag.task_dict if t != task.task_id and not dag.task_dict[t].downstream_task_ids - {task.task_id}}
    assert not task.outlets


def test_assets_are_target_independent_and_emitted_after_tests(rendered, manifest):
    dag, _ = rendered
    outlets = {t.task_id: [o.uri for o in t.outlets] for t in dag.tasks if t.outlets}
    expected = {v["name"] for v in (nodes(manifest, "model") | nodes(manifest, "seed")).values()}
    assert sorted(uri for uris in outlets.values() for uri in uris) == sorted(WAREHOUSE_ASSET_PREFIX + n for n in expected)
    for task_id, uris in outlets.items():
        # on the node's build task, which runs its tests after it: downstream DAGs hear of a table once tested
        assert uris == [WAREHOUSE_ASSET_PREFIX + built_node(task_id)[1]]


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
