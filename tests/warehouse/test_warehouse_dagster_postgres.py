"""Dagster's own instance on Postgres: runs with the warehouse IO manager, and the deploy config.

A fresh database ``dagster_test_<random>`` is created for the module and dropped at the end.
"""

import os
import shutil
import uuid
from pathlib import Path

import polars as pl
import psycopg
import pytest
import yaml
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    asset,
    build_reconstructable_job,
    execute_job,
    materialize,
)
from warehouse_helpers import drop_schemas

from resources.warehouse import TableRef, WarehouseIOManager, WarehouseResource, parse_warehouse_url

HERE = Path(__file__).resolve().parent
DEPLOY_CONFIG = HERE.parents[1] / "deploy" / "dagster.postgres.yaml"


def _write_instance_yaml(directory: Path, db: dict[str, str]) -> None:
    postgres_db = {
        "hostname": db["host"],
        "port": int(db["port"]),
        "username": db["user"],
        "password": db["password"],
        "db_name": db["db"],
        "params": {"application_name": "gainsight-dagster-test"},
        "scheme": "postgresql+psycopg2",
    }
    (directory / "dagster.yaml").write_text(
        yaml.safe_dump({"storage": {"postgres": {"postgres_db": postgres_db}}})
    )


def _count(db: dict[str, str], sql: str, params: list[object]) -> int:
    conninfo = f"host={db['host']} port={db['port']} user={db['user']} dbname={db['db']}" + (
        f" password={db['password']}" if db["password"] else ""
    )
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def test_run_and_events_are_stored_in_postgres(
    dagster_db: dict[str, str], postgres_url: str, tmp_path: Path
) -> None:
    _write_instance_yaml(tmp_path, dagster_db)
    schema = f"wh_{uuid.uuid4().hex[:12]}"

    @asset(key=[schema, "accounts"], metadata={"latest_by": {"key": ["id"], "order": "seen"}})
    def accounts() -> pl.DataFrame:
        return pl.DataFrame({"id": ["a", "a", "b"], "seen": [1, 2, 1]})

    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        result = materialize(
            [accounts],
            instance=instance,
            resources={"io_manager": WarehouseIOManager(url=postgres_url)},
        )
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and run.status == DagsterRunStatus.SUCCESS
        materialized = instance.get_latest_materialization_event(accounts.key)
        assert materialized is not None and materialized.run_id == result.run_id
    finally:
        instance.dispose()
    try:
        # the rows really are in the new Postgres database
        assert _count(dagster_db, "SELECT count(*) FROM runs WHERE run_id = %s", [result.run_id])
        assert _count(
            dagster_db,
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
            [result.run_id, "ASSET_MATERIALIZATION"],
        )
        warehouse = WarehouseResource(url=postgres_url)
        assert warehouse.count(TableRef(schema, "accounts")) == 3
        assert warehouse.read(TableRef(schema, "accounts_latest")).sort("id")["seen"].to_list() == [
            2,
            1,
        ]
    finally:
        drop_schemas(parse_warehouse_url(postgres_url), [schema])


def test_steps_in_subprocesses_share_nothing_but_the_warehouse(
    dagster_db: dict[str, str], postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Multiprocess executor: every step opens its own connections, on both engines."""
    duckdb_url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    monkeypatch.setenv("WAREHOUSE_URL", duckdb_url)
    schema = f"wh_{uuid.uuid4().hex[:12]}"
    home = tmp_path / "dagster_home"
    home.mkdir()
    _write_instance_yaml(home, dagster_db)
    job = build_reconstructable_job(
        "warehouse_mp_job",
        "get_job",
        reconstructable_args=(schema, postgres_url),
        reconstructor_working_directory=str(HERE),
    )
    instance = DagsterInstance.from_config(str(home))
    try:
        with execute_job(
            job, instance=instance, tags={"dagster/partition": "2024-03-02"}
        ) as result:
            assert result.success
        sides = WarehouseResource(url=duckdb_url).read(TableRef(schema, "left"))
        both = WarehouseResource(url=postgres_url).read(TableRef(schema, "both"))
    finally:
        instance.dispose()
        drop_schemas(parse_warehouse_url(postgres_url), [schema])
    assert sides["side"].to_list() == ["left", "left"]
    assert sorted(both["side"].to_list()) == ["left", "left", "right", "right"]
    writer_pids = set(both["pid"].to_list())
    assert len(writer_pids) == 2 and os.getpid() not in writer_pids
    assert set(both["reader_pid"].to_list()).isdisjoint({os.getpid(), *writer_pids})


def test_deploy_config_loads_against_postgres(
    dagster_db: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, key in [("HOST", "host"), ("PORT", "port"), ("USER", "user"), ("DB", "db")]:
        monkeypatch.setenv(f"DAGSTER_PG_{name}", dagster_db[key])
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", dagster_db["password"])
    shutil.copy(DEPLOY_CONFIG, tmp_path / DEPLOY_CONFIG.name)
    text = DEPLOY_CONFIG.read_text()
    assert "password:\n        env: DAGSTER_PG_PASSWORD" in text  # no literal credentials
    instance = DagsterInstance.from_config(str(tmp_path), config_filename=DEPLOY_CONFIG.name)
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        concurrency = instance.get_concurrency_config()
        assert concurrency.pool_config.default_pool_limit == 1
        assert concurrency.run_queue_config is not None
        assert concurrency.run_queue_config.max_concurrent_runs == 4
        # the Gainsight pool starts at the default limit of one slot
        assert instance.event_log_storage.initialize_concurrency_limit_to_default("gainsight_api")
        assert instance.event_log_storage.get_concurrency_info("gainsight_api").slot_count == 1
        assert isinstance(instance.get_runs(limit=5), list)  # the storage answers queries
    finally:
        instance.dispose()
