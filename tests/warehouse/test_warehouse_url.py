"""WAREHOUSE_URL parsing: accepted forms, clear rejections, and no password anywhere."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from resources.warehouse import (
    TableRef,
    WarehouseConfigError,
    WarehouseIOManager,
    WarehouseResource,
    default_duckdb_path,
    parse_warehouse_url,
)

SECRET = "s3cr:et@p/w"


def test_unset_means_embedded_duckdb_without_creating_anything(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "warehouse.duckdb"
    for url in (None, "", "   "):
        target = parse_warehouse_url(url, default_duckdb_path=path)
        assert target.kind == "duckdb"
        assert target.path == path
    assert not path.parent.exists()
    assert parse_warehouse_url(None).path == default_duckdb_path()
    assert (
        default_duckdb_path() == Path(__file__).resolve().parents[2] / "data" / "warehouse.duckdb"
    )


def test_duckdb_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_warehouse_url(f"duckdb:///{tmp_path}/w.duckdb").path == tmp_path / "w.duckdb"
    assert parse_warehouse_url(f"duckdb://{tmp_path}/w.duckdb").path == tmp_path / "w.duckdb"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    target = parse_warehouse_url("duckdb:data/w.duckdb")
    assert target.path == tmp_path / "data" / "w.duckdb"
    assert target.lock_timeout_seconds == 120
    assert str(target) == f"duckdb:///{str(tmp_path / 'data' / 'w.duckdb').lstrip('/')}"


@pytest.mark.parametrize("url", ["duckdb:/nonexistent-dir/x.duckdb", "duckdb:no-such-dir/x.duckdb"])
def test_a_duckdb_file_in_a_missing_folder_names_warehouse_url(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WarehouseConfigError) as error:
        parse_warehouse_url(url)
    message = str(error.value)
    assert message.startswith(f"WAREHOUSE_URL '{url}' names the DuckDB file")
    assert "does not exist. Create the folder, or fix WAREHOUSE_URL." in message
    assert not Path("/nonexistent-dir").exists()
    assert not (tmp_path / "no-such-dir").exists()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://warehouse:{pw}@db.internal:5432/analytics",
        "postgres://warehouse:{pw}@db.internal:5432/analytics",
        "postgresql+psycopg://warehouse:{pw}@db.internal:5432/analytics?sslmode=require",
    ],
)
def test_postgres_forms_hide_the_password(url: str) -> None:
    target = parse_warehouse_url(url.format(pw=quote(SECRET, safe="")))
    assert target.kind == "postgres"
    assert target.conninfo is not None
    assert target.conninfo.startswith("postgresql://warehouse:")
    assert target.conninfo.split("?")[0].endswith("@db.internal:5432/analytics")
    for shown in (repr(target), str(target), target.redacted):
        assert "s3cr" not in shown
        assert "postgresql://warehouse:<redacted>@db.internal:5432/analytics" in shown


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root:hunter2@db/x",
        "postgresql://root:hunter2@db",  # no database
        "postgresql://root:hunter2@db:notaport/x",
        "root:hunter2@db/x",
        "duckdb://host/path.duckdb",
        "duckdb:",
        "duckdb:///:memory:",
        "sqlite:///w.db",
        "http://user:hunter2@example.com",
        "host=db password=hunter2 dbname=x",
    ],
)
def test_rejections_list_the_forms_and_hide_the_password(url: str) -> None:
    with pytest.raises(WarehouseConfigError) as error:
        parse_warehouse_url(url)
    message = str(error.value)
    assert "hunter2" not in message
    assert "duckdb:///absolute/path/warehouse.duckdb" in message
    assert "duckdb:relative/path/warehouse.duckdb" in message
    assert "postgresql://user:password@host:5432/database" in message
    assert isinstance(error.value, ValueError)


def test_resources_never_show_the_url() -> None:
    url = "postgresql://warehouse:hunter2@db.internal:5432/analytics"
    for config in (WarehouseIOManager(url=url), WarehouseResource(url=url)):
        assert "hunter2" not in repr(config)
        assert "hunter2" not in repr(config.target)
        assert config.target.kind == "postgres"


def test_table_refs() -> None:
    assert TableRef.parse("salesforce.account") == TableRef("salesforce", "account")
    assert TableRef.parse('"my.schema"."a""b"') == TableRef("my.schema", 'a"b')
    assert TableRef.from_asset_key(["gainsight", "activities"]) == TableRef(
        "gainsight", "activities"
    )
    assert TableRef.from_asset_key(["crm", "gainsight", "x"]) == TableRef("gainsight", "x")
    assert TableRef.from_asset_key(["accounts"]) == TableRef("public", "accounts")
    for bad in ("account", "a.b.c", '"a.b'):
        with pytest.raises(ValueError):
            TableRef.parse(bad)
    with pytest.raises(ValueError, match="63"):
        TableRef("s", "x" * 64)
