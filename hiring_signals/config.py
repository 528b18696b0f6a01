"""The one configuration surface: environment variables with documented defaults.

Every component (DAGs, Spark jobs, loaders, the demo) reads its settings through `load_settings()`, so
the same code runs on a laptop (embedded defaults) and against real services (set the variables).
`hs config` prints the effective values; `SETTINGS_DOC` below is the table the README shows.

Nothing secret has a default in code. The pseudonymisation key comes from HS_PSEUDONYM_KEY, or from the
file HS_PSEUDONYM_KEY_FILE points at (the embedded set-up generates a random one on first use).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable and what it expects."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    doc: str
    secret: bool = False


# Order is the order the README and `hs config` print them in.
SETTINGS_DOC: tuple[Setting, ...] = (
    Setting("HS_HOME", str(REPO_ROOT / ".local"), "Where embedded services keep state, logs and generated secrets."),
    Setting("HS_S3_ENDPOINT_URL", "http://127.0.0.1:9466",
            "S3 API endpoint. The default is the project's own moto_server on loopback; "
            "set it to empty for AWS, or to any S3-compatible store."),
    Setting("HS_S3_REGION", "us-east-1", "Region for S3 (and SQS) clients."),
    Setting("HS_S3_EMBEDDED", "auto",
            "'auto' treats a loopback HS_S3_ENDPOINT_URL as the embedded moto_server (started by the project, "
            "placeholder credentials); 'true'/'false' force it."),
    Setting("HS_LAKE_BUCKET", "hiring-signals-lake", "Bucket holding the landing/, raw/, quarantine/, curated/ and ops/ zones."),
    Setting("HS_FEEDS_BUCKET", "hiring-signals-feeds",
            "Bucket for feeds/ (what ATS integrations read); separate so its access policy can differ."),
    Setting("HS_SPARK_MASTER", "local[*]", "Spark master URL: local[*], spark://host:7077, k8s://..., yarn."),
    Setting("HS_SPARK_S3_IMPL", "arrow",
            "How Spark reaches S3: 'arrow' (a Spark Python Data Source over pyarrow's S3 client, needs no jars) "
            "or 's3a' (Hadoop S3A; needs hadoop-aws on the cluster's classpath)."),
    Setting("HS_SPARK_DRIVER_MEMORY", "4g",
            "Heap of the signal job's driver JVM (spark.driver.memory, given to spark-submit). Under local[*] the "
            "executors run inside it, so it also holds the cached state and shuffle buffers: Spark's 1g default ran out at 10^6 "
            "events. Empty leaves it to spark-defaults.conf / Spark."),
    Setting("HS_SPARK_DRIVER_MAX_RESULT_SIZE", "1g",
            "spark.driver.maxResultSize of the signal job. Curated data is written by the executors, so only "
            "per-file metadata and small aggregates reach the driver; a job hitting this limit is collecting "
            "something it should not. Empty leaves it to spark-defaults.conf / Spark."),
    Setting("HS_SPARK_SMALL_INPUT_ROWS", "250000",
            "Raw rows up to which the signal job runs in small-input mode: no whole-stage code generation and no "
            "adaptive re-planning, whose cost is per query rather than per row (on the e2e's ~1,000 events they "
            "were most of the job's time), and each table is written by one task per core instead of one per "
            "bucket (the same files). Same results either way; 0 turns the mode off."),
    Setting("HS_CURATED_BUCKETS", "8",
            "Files per curated dataset and per signal-state table: rows are hash-partitioned on the dataset's key "
            "into this many buckets, each written as one sorted Parquet file by an executor (empty buckets write "
            "none). Fixed, not derived from the cluster, so local and cluster runs write identical files; changing "
            "it changes the files, never the rows. Aim for at most ~1M rows per file."),
    Setting("HS_WAREHOUSE_TARGET", "duckdb", "dbt target that publishes the marts: 'duckdb' or 'postgres'."),
    Setting("HS_DUCKDB_PATH", "", "DuckDB warehouse file; empty means $HS_HOME/warehouse/warehouse.duckdb."),
    Setting("HS_PG_HOST", "127.0.0.1", "PostgreSQL warehouse host (target 'postgres')."),
    Setting("HS_PG_PORT", "5432", "PostgreSQL warehouse port."),
    Setting("HS_PG_USER", "postgres", "PostgreSQL warehouse user."),
    Setting("HS_PG_PASSWORD", "", "PostgreSQL warehouse password (empty for trust auth).", secret=True),
    Setting("HS_PG_DATABASE", "hiring_signals", "PostgreSQL warehouse database."),
    Setting("HS_WAREHOUSE_SCHEMA", "hiring_signals",
            "Schema the marts are published in; staging/intermediate go to <schema>_staging/_intermediate, "
            "loaded curated data to <schema>_landing."),
    Setting("HS_SOURCES", "marketplace,gig",
            "Comma-separated pulled (data-interval) sources whose raw data must be complete before signals are published "
            "for a date. Event-driven recruiter drops never gate a date; the signal job reads those received by then."),
    Setting("HS_MARKETPLACE_URL", "http://127.0.0.1:9471", "Base URL of the micro-internship marketplace API (the simulator by default)."),
    Setting("HS_MARKETPLACE_TOKEN", "", "Bearer token for the marketplace API, if it needs one.", secret=True),
    Setting("HS_GIG_URL", "http://127.0.0.1:9472", "Base URL of the gig / freelance platform API (the simulator by default)."),
    Setting("HS_GIG_TOKEN", "", "Bearer token for the gig platform API, if it needs one.", secret=True),
    Setting("HS_GIG_API_VERSION", "2", "Gig platform API version to request ('1' or '2'; a field was renamed between them)."),
    Setting("HS_RECRUITER_QUEUE", "hs-recruiter-drops",
            "SQS queue (name or URL) receiving the lake bucket's object-created notifications for landing/drops/."),
    Setting("HS_SIGNAL_HALF_LIFE_DAYS", "180",
            "Half-life, in days, of the recency weight of mentor feedback in the rubric signals (a review this old "
            "counts half as much as a fresh one). Recorded in every rubric signal's explanation and the curated manifest."),
    Setting("HS_HTTP_MAX_ATTEMPTS", "6", "Attempts per HTTP request before a source pull fails."),
    Setting("HS_HTTP_TIMEOUT_S", "30", "Per-request timeout against source APIs, seconds."),
    Setting("HS_PAGE_LIMIT", "500", "Records asked for per API page."),
    Setting("HS_INGEST_START_DATE", "2026-05-01", "First data interval the ingestion DAGs schedule (a fixed date, never now())."),
    Setting("HS_INGEST_INTERVAL_DAYS", "1",
            "Length of an ingestion DAG run's data interval. Whatever it is, each run commits one batch per day, so "
            "a weekly catch-up run lands exactly what seven nightly runs would (the demo uses 7 to save overhead)."),
    Setting("HS_INGEST_END_DATE", "",
            "Last day the ingestion DAGs schedule (exclusive); empty = open-ended. The demo sets the simulators' end."),
    Setting("HS_PSEUDONYM_KEY", None, "Secret key for the keyed-HMAC candidate references. Never commit it.", secret=True),
    Setting("HS_PSEUDONYM_KEY_FILE", "", "File holding the key when HS_PSEUDONYM_KEY is unset; empty means $HS_HOME/secrets/pseudonym.key."),
    Setting("AIRFLOW_HOME", "", "Airflow home; empty means $HS_HOME/airflow."),
    Setting("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "",
            "Airflow metadata DB; empty means SQLite in $AIRFLOW_HOME. Use postgresql+psycopg2://... for real deployments."),
    Setting("HS_AIRFLOW_API_PORT", "9480", "Port of the embedded Airflow API server (UI) on 127.0.0.1."),
    # make bench / make bench-scale (benchmarks/scale.py): sizes, rounds and Spark settings of the scale run.
    Setting('HS_BENCH_SCALE_SIZES', '1000000',
            'Comma-separated event counts to benchmark (make bench-scale: 1M and 10M).'),
    Setting('HS_BENCH_SCALE_ROUNDS', '3',
            'Timed rounds per engine below HS_BENCH_SCALE_LARGE events (the median is shown).'),
    Setting('HS_BENCH_SCALE_LARGE', '5000000',
            'From this many events on, HS_BENCH_SCALE_LARGE_ROUNDS rounds.'),
    Setting('HS_BENCH_SCALE_LARGE_ROUNDS', '1',
            'Timed rounds per engine at large sizes (one 10M round is minutes).'),
    Setting('HS_BENCH_SCALE_SEED', '7',
            'Generator seed (the cache key includes it).'),
    Setting('HS_BENCH_SCALE_INCREMENTAL', 'true',
            'Also time incremental vs full (three more Spark runs per size).'),
    Setting('HS_BENCH_SPARK_CONF', '',
            "Extra Spark settings for tuning experiments, 'key=value;key=value'."),
    Setting('HS_BENCH_SPARK_DRIVER_MEMORY', '6g',
            "Driver heap of the local[2] JVM (Spark's 1g default runs out at 1M events: the cached known events and state live in the local[2] JVM; the signals are written by the executors, not collected)."),
    # make bench-dbt-tasks (benchmarks/dbt_tasks.py)
    Setting('HS_BENCH_DBT_ROUNDS', '5',
            'Interleaved rounds of the cold and the warm (forked from a preloaded parent) dbt task start-up.'),
)

_DEFAULTS = {s.name: s.default for s in SETTINGS_DOC}


def _get(env: dict[str, str], name: str) -> str:
    value = env.get(name)
    if value is None:
        value = _DEFAULTS[name]
    return "" if value is None else value


def _int(env: dict[str, str], name: str) -> int:
    raw = _get(env, name)
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _is_loopback(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return host in {"127.0.0.1", "localhost", "[::1]", "::1"}


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None
    region: str
    embedded: bool
    lake_bucket: str
    feeds_bucket: str

    def client_kwargs(self) -> dict:
        """Keyword arguments for boto3.client('s3' | 'sqs', ...).

        Against the embedded moto_server any credentials are accepted, so fixed placeholders are used
        when none are configured; against a real endpoint boto3's normal credential chain applies.
        """
        kwargs: dict = {"region_name": self.region}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        if self.embedded and not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs["aws_access_key_id"] = "embedded"
            kwargs["aws_secret_access_key"] = "embedded"
        return kwargs

    def arrow_fs_kwargs(self) -> dict:
        """Keyword arguments for pyarrow.fs.S3FileSystem pointing at the same endpoint."""
        kwargs: dict = {"region": self.region}
        if self.endpoint_url:
            scheme, rest = self.endpoint_url.split("://", 1)
            kwargs["endpoint_override"] = rest.rstrip("/")
            kwargs["scheme"] = scheme
        if self.embedded and not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs["access_key"] = "embedded"
            kwargs["secret_key"] = "embedded"
        return kwargs


@dataclass(frozen=True)
class WarehouseSettings:
    target: str
    duckdb_path: Path
    pg_host: str
    pg_port: int
    pg_user: str
    pg_password: str
    pg_database: str
    schema: str

    @property
    def landing_schema(self) -> str:
        return f"{self.schema}_landing"

    def dbt_env(self) -> dict[str, str]:
        """Environment the dbt profile reads (dbt_project/profiles.yml uses env_var() only)."""
        return {
            "HS_WAREHOUSE_TARGET": self.target,
            "HS_DUCKDB_PATH": str(self.duckdb_path),
            "HS_PG_HOST": self.pg_host,
            "HS_PG_PORT": str(self.pg_port),
            "HS_PG_USER": self.pg_user,
            "HS_PG_PASSWORD": self.pg_password,
            "HS_PG_DATABASE": self.pg_database,
            "HS_WAREHOUSE_SCHEMA": self.schema,
        }


@dataclass(frozen=True)
class Settings:
    home: Path
    s3: S3Settings
    spark_master: str
    spark_s3_impl: str
    spark_driver_memory: str
    spark_driver_max_result_size: str
    curated_buckets: int
    spark_small_input_rows: int
    warehouse: WarehouseSettings
    sources: tuple[str, ...]
    marketplace_url: str
    marketplace_token: str
    gig_url: str
    gig_token: str
    gig_api_version: str
    recruiter_queue: str
    http_max_attempts: int
    http_timeout_s: float
    page_limit: int
    ingest_start_date: date
    ingest_end_date: date | None
    ingest_interval_days: int
    airflow_home: Path
    airflow_db_conn: str
    airflow_api_port: int
    signal_half_life_days: float
    _pseudonym_key: str | None = field(repr=False, default=None)
    _pseudonym_key_file: Path | None = field(repr=False, default=None)

    def pseudonym_key(self) -> bytes:
        """The HMAC key for candidate references; a clear error when it is not configured."""
        if self._pseudonym_key:
            return self._pseudonym_key.encode()
        if self._pseudonym_key_file and self._pseudonym_key_file.is_file():
            key = self._pseudonym_key_file.read_text().strip()
            if len(key) >= 32:
                return key.encode()
            raise ConfigError(f"{self._pseudonym_key_file} holds a key shorter than 32 characters")
        raise ConfigError(
            "No pseudonymisation key: set HS_PSEUDONYM_KEY, or HS_PSEUDONYM_KEY_FILE to a file holding one "
            f"(expected at {self._pseudonym_key_file}; `make key` creates a random one for the embedded set-up)"
        )


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(_get(env, "HS_HOME")).expanduser().resolve()
    endpoint = _get(env, "HS_S3_ENDPOINT_URL").strip() or None
    embedded_flag = _get(env, "HS_S3_EMBEDDED").lower()
    if embedded_flag not in {"auto", "true", "false"}:
        raise ConfigError(f"HS_S3_EMBEDDED must be auto, true or false, got {embedded_flag!r}")
    embedded = (embedded_flag == "true") or (embedded_flag == "auto" and endpoint is not None and _is_loopback(endpoint))

    target = _get(env, "HS_WAREHOUSE_TARGET").lower()
    if target not in {"duckdb", "postgres"}:
        raise ConfigError(f"HS_WAREHOUSE_TARGET must be 'duckdb' or 'postgres', got {target!r}")
    spark_s3_impl = _get(env, "HS_SPARK_S3_IMPL").lower()
    if spark_s3_impl not in {"arrow", "s3a"}:
        raise ConfigError(f"HS_SPARK_S3_IMPL must be 'arrow' or 's3a', got {spark_s3_impl!r}")
    try:
        start = date.fromisoformat(_get(env, "HS_INGEST_START_DATE"))
    except ValueError:
        raise ConfigError(f"HS_INGEST_START_DATE must be YYYY-MM-DD, got {_get(env, 'HS_INGEST_START_DATE')!r}") from None

    end_raw = _get(env, "HS_INGEST_END_DATE").strip()
    try:
        end = date.fromisoformat(end_raw) if end_raw else None
    except ValueError:
        raise ConfigError(f"HS_INGEST_END_DATE must be YYYY-MM-DD or empty, got {end_raw!r}") from None

    duckdb_path = Path(_get(env, "HS_DUCKDB_PATH") or home / "warehouse" / "warehouse.duckdb").expanduser()
    if duckdb_path.stem == _get(env, "HS_WAREHOUSE_SCHEMA"):
        # DuckDB names the catalog after the file: "<name>.<table>" would be ambiguous in every query
        raise ConfigError(f"HS_DUCKDB_PATH's file name {duckdb_path.name!r} must differ from HS_WAREHOUSE_SCHEMA "
                          f"{duckdb_path.stem!r}: DuckDB could not tell the catalog from the schema in SQL")
    half_life_raw = _get(env, "HS_SIGNAL_HALF_LIFE_DAYS")
    try:
        half_life = float(half_life_raw)
    except ValueError:
        half_life = float("nan")
    if not half_life > 0 or half_life == float("inf"):
        raise ConfigError(f"HS_SIGNAL_HALF_LIFE_DAYS must be a positive number of days, got {half_life_raw!r}")
    curated_buckets = _int(env, "HS_CURATED_BUCKETS")
    if curated_buckets < 1:
        raise ConfigError(f"HS_CURATED_BUCKETS must be a positive integer, got {curated_buckets}")
    spark_small_input_rows = _int(env, "HS_SPARK_SMALL_INPUT_ROWS")
    if spark_small_input_rows < 0:
        raise ConfigError(f"HS_SPARK_SMALL_INPUT_ROWS must be 0 or a positive number of rows, got {spark_small_input_rows}")
    sizes = {name: _get(env, name).strip() for name in ("HS_SPARK_DRIVER_MEMORY", "HS_SPARK_DRIVER_MAX_RESULT_SIZE")}
    for name, value in sizes.items():
        if value and not re.fullmatch(r"\d+[kmgt]?", value.lower()):
            raise ConfigError(f"{name} must be a JVM size like 4g or 512m (or empty), got {value!r}")
    airflow_home = Path(_get(env, "AIRFLOW_HOME") or home / "airflow").expanduser()
    key_file = _get(env, "HS_PSEUDONYM_KEY_FILE")
    return Settings(
        home=home,
        s3=S3Settings(
            endpoint_url=endpoint,
            region=_get(env, "HS_S3_REGION"),
            embedded=embedded,
            lake_bucket=_get(env, "HS_LAKE_BUCKET"),
            feeds_bucket=_get(env, "HS_FEEDS_BUCKET"),
        ),
        spark_master=_get(env, "HS_SPARK_MASTER"),
        spark_s3_impl=spark_s3_impl,
        spark_driver_memory=sizes["HS_SPARK_DRIVER_MEMORY"].lower(),
        spark_driver_max_result_size=sizes["HS_SPARK_DRIVER_MAX_RESULT_SIZE"].lower(),
        curated_buckets=curated_buckets,
        spark_small_input_rows=spark_small_input_rows,
        warehouse=WarehouseSettings(
            target=target,
            duckdb_path=duckdb_path,
            pg_host=_get(env, "HS_PG_HOST"),
            pg_port=_int(env, "HS_PG_PORT"),
            pg_user=_get(env, "HS_PG_USER"),
            pg_password=_get(env, "HS_PG_PASSWORD"),
            pg_database=_get(env, "HS_PG_DATABASE"),
            schema=_get(env, "HS_WAREHOUSE_SCHEMA"),
        ),
        sources=tuple(s.strip() for s in _get(env, "HS_SOURCES").split(",") if s.strip()),
        marketplace_url=_get(env, "HS_MARKETPLACE_URL").rstrip("/"),
        marketplace_token=_get(env, "HS_MARKETPLACE_TOKEN"),
        gig_url=_get(env, "HS_GIG_URL").rstrip("/"),
        gig_token=_get(env, "HS_GIG_TOKEN"),
        gig_api_version=_get(env, "HS_GIG_API_VERSION"),
        recruiter_queue=_get(env, "HS_RECRUITER_QUEUE"),
        http_max_attempts=_int(env, "HS_HTTP_MAX_ATTEMPTS"),
        http_timeout_s=float(_int(env, "HS_HTTP_TIMEOUT_S")),
        page_limit=_int(env, "HS_PAGE_LIMIT"),
        ingest_start_date=start,
        ingest_end_date=end,
        ingest_interval_days=_int(env, "HS_INGEST_INTERVAL_DAYS"),
        airflow_home=airflow_home,
        airflow_db_conn=_get(env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or f"sqlite:///{airflow_home / 'airflow.db'}",
        airflow_api_port=_int(env, "HS_AIRFLOW_API_PORT"),
        signal_half_life_days=half_life,
        _pseudonym_key=env.get("HS_PSEUDONYM_KEY") or None,
        _pseudonym_key_file=Path(key_file).expanduser() if key_file else home / "secrets" / "pseudonym.key",
    )


def describe(settings_env: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(name, effective value, doc) rows for `hs config`; secrets are masked."""
    env = dict(os.environ if settings_env is None else settings_env)
    rows = []
    for s in SETTINGS_DOC:
        value = env.get(s.name, s.default if s.default is not None else "")
        if s.secret and value:
            value = "***"
        rows.append((s.name, value or "(unset)", s.doc))
    return rows
