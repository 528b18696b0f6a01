"""`hs config` names the derived locations operators look for: the Data Docs site and the staged dbt project."""

from hiring_signals.cli import main


def test_hs_config_prints_where_data_docs_and_the_dbt_stage_are(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HS_HOME", str(tmp_path))
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert f"GX Data Docs       {tmp_path / 'data_docs' / 'index.html'}" in out
    assert f"dbt stage (cosmos) {tmp_path / 'dbt'}/" in out
