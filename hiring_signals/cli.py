"""`hs`: the project's command line (demo, stop, config, sql, quality)."""

from __future__ import annotations

import argparse
import sys


def _cmd_config(_args) -> int:
    from hiring_signals.config import describe, load_settings

    rows = describe()
    width = max(len(name) for name, _, _ in rows)
    for name, value, doc in rows:
        print(f"{name:<{width}}  {value}\n{'':<{width}}  {doc}")
    home = load_settings().home
    print(f"\nDerived locations:\n  GX Data Docs       {home / 'data_docs' / 'index.html'}"
          f"\n  dbt stage (cosmos) {home / 'dbt'}/<target>-<fingerprint>/ (`hs dbt-parse` makes it)")
    return 0


def _cmd_demo(_args) -> int:
    from hiring_signals import demo

    return demo.run()


def _cmd_stop(_args) -> int:
    from hiring_signals import demo

    stopped = demo.stop()
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def _cmd_sql(args) -> int:
    from hiring_signals.config import load_settings
    from hiring_signals.warehouse.loader import query_with_columns

    columns, rows = query_with_columns(load_settings().warehouse, args.query)
    cells = [[("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
    print(f"({len(rows)} rows)")
    return 0


def _cmd_write_suites(_args) -> int:
    from hiring_signals.quality.suites import write_suites

    for path in write_suites():
        print(f"wrote {path}")
    return 0


def _cmd_dbt_parse(_args) -> int:
    from hiring_signals.warehouse.cosmos_config import stage_dbt_project

    staged = stage_dbt_project()
    print(f"dbt project staged for Airflow in {staged.project_dir}\nmanifest: {staged.manifest_path}")
    return 0


def _cmd_quality_docs(_args) -> int:
    from hiring_signals.quality.gates import data_docs_dir

    index = data_docs_dir() / "index.html"
    if index.is_file():
        print(f"GX Data Docs (every raw, signals and marts gate run): {index.as_uri()}")
        return 0
    print(f"no GX Data Docs yet: the first gate run writes {index}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("config", help="print every setting, its effective value and what it does").set_defaults(func=_cmd_config)
    sub.add_parser("demo", help="run the whole pipeline on embedded defaults").set_defaults(func=_cmd_demo)
    sub.add_parser("stop", help="stop the services the demo left running").set_defaults(func=_cmd_stop)
    sql = sub.add_parser("sql", help="run a SQL query against the configured warehouse")
    sql.add_argument("query")
    sql.set_defaults(func=_cmd_sql)
    sub.add_parser("dbt-parse", help="stage dbt_project/ and parse its manifest for the Airflow DAG (cosmos); "
                   "the DAG processor does this itself when missing").set_defaults(func=_cmd_dbt_parse)
    quality = sub.add_parser("quality", help="Great Expectations suites")
    qsub = quality.add_subparsers(dest="quality_command", required=True)
    qsub.add_parser("write-suites", help="regenerate expectations/suites/*.json from the contract").set_defaults(
        func=_cmd_write_suites)
    qsub.add_parser("docs", help="print where the GX Data Docs site is").set_defaults(func=_cmd_quality_docs)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
