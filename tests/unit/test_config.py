import pytest

from hiring_signals.config import ConfigError, describe, load_settings


def test_embedded_defaults_point_at_loopback_services():
    s = load_settings({"HS_HOME": "/tmp/hs"})
    assert s.s3.endpoint_url == "http://127.0.0.1:9466"
    assert s.s3.embedded is True
    assert s.s3.client_kwargs()["aws_access_key_id"] == "embedded"
    assert s.warehouse.target == "duckdb"
    assert str(s.warehouse.duckdb_path) == "/tmp/hs/warehouse/warehouse.duckdb"
    assert s.spark_master == "local[*]"
    assert s.airflow_db_conn == "sqlite:////tmp/hs/airflow/airflow.db"


def test_real_endpoint_uses_the_normal_credential_chain():
    s = load_settings({"HS_S3_ENDPOINT_URL": "https://s3.eu-west-1.amazonaws.com", "HS_S3_REGION": "eu-west-1"})
    assert s.s3.embedded is False
    assert "aws_access_key_id" not in s.s3.client_kwargs()
    assert load_settings({"HS_S3_ENDPOINT_URL": ""}).s3.client_kwargs() == {"region_name": "us-east-1"}


def test_arrow_kwargs_follow_the_endpoint():
    s = load_settings({"HS_S3_ENDPOINT_URL": "http://127.0.0.1:1234"})
    assert s.s3.arrow_fs_kwargs()["endpoint_override"] == "127.0.0.1:1234"
    assert s.s3.arrow_fs_kwargs()["scheme"] == "http"


@pytest.mark.parametrize("name,value", [("HS_WAREHOUSE_TARGET", "oracle"), ("HS_PG_PORT", "five"),
                                        ("HS_INGEST_START_DATE", "May 1st"), ("HS_S3_EMBEDDED", "maybe")])
def test_malformed_settings_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


def test_missing_pseudonym_key_is_a_clear_error(tmp_path):
    s = load_settings({"HS_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="HS_PSEUDONYM_KEY"):
        s.pseudonym_key()


def test_pseudonym_key_from_file(tmp_path):
    key_file = tmp_path / "k"
    key_file.write_text("a" * 64 + "\n")
    assert load_settings({"HS_PSEUDONYM_KEY_FILE": str(key_file)}).pseudonym_key() == b"a" * 64
    key_file.write_text("short")
    with pytest.raises(ConfigError, match="shorter"):
        load_settings({"HS_PSEUDONYM_KEY_FILE": str(key_file)}).pseudonym_key()


def test_describe_masks_secrets():
    rows = {name: value for name, value, _ in describe({"HS_PSEUDONYM_KEY": "supersecret", "HS_PG_PASSWORD": "pw"})}
    assert rows["HS_PSEUDONYM_KEY"] == "***"
    assert rows["HS_PG_PASSWORD"] == "***"


def test_duckdb_file_named_like_the_schema_is_refused():
    with pytest.raises(ConfigError, match="must differ from HS_WAREHOUSE_SCHEMA"):
        load_settings({"HS_DUCKDB_PATH": "/tmp/x/hiring_signals.duckdb"})


def test_spark_driver_sizing_and_curated_buckets():
    from spark_jobs.session import driver_conf

    s = load_settings({})
    assert (s.spark_driver_memory, s.spark_driver_max_result_size, s.curated_buckets) == ("4g", "1g", 8)
    assert driver_conf(s) == {"spark.driver.memory": "4g", "spark.driver.maxResultSize": "1g"}
    sized = load_settings({"HS_SPARK_DRIVER_MEMORY": "12G", "HS_SPARK_DRIVER_MAX_RESULT_SIZE": "",
                           "HS_CURATED_BUCKETS": "64"})
    # empty: left to spark-defaults.conf, so nothing is passed
    assert driver_conf(sized) == {"spark.driver.memory": "12g"} and sized.curated_buckets == 64


@pytest.mark.parametrize("name,value", [("HS_SPARK_DRIVER_MEMORY", "lots"), ("HS_SPARK_DRIVER_MAX_RESULT_SIZE", "1 g"),
                                        ("HS_CURATED_BUCKETS", "0"), ("HS_CURATED_BUCKETS", "eight"),
                                        ("HS_SPARK_SMALL_INPUT_ROWS", "-1"), ("HS_SPARK_SMALL_INPUT_ROWS", "lots")])
def test_malformed_spark_sizing_names_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})
