"""Each tenant's API budget is a Dagster pool kept in the instance's Postgres storage.

Two tenants, two runs each, every run in a process of its own sharing one instance on Postgres
(as runs on separate machines or pods do). A tenant's two Gainsight steps take turns on its pool's
single slot; the two tenants' steps run side by side.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance

from gainsight_assets.demo.generator import generate_dataset
from gainsight_assets.demo.server import DemoTenant, Fault
from gainsight_assets.tenant import Tenant
from tests.assets.helpers import load_accounts
from tests.conftest import DEMO_ANCHOR, DEMO_KEY


def drop_schemas(url: str, schemas: list[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if conn.execute("SELECT to_regclass('_warehouse.latest_views')").fetchone() != (None,):
            conn.execute(
                "DELETE FROM _warehouse.latest_views WHERE table_schema = ANY(%s)", [schemas]
            )


pytestmark = pytest.mark.postgres
BIN = Path(sys.executable).parent
HOLD_SECONDS = 4.0  # how long each run's first query answer is held, keeping its pool slot busy
LOCATION = """
from dagster import Definitions

from gainsight_assets.settings import parse_settings
from gainsight_assets.tenant import Tenant
from gainsight_assets.tenant_definitions import build_tenant_definitions, shared_definitions

TENANTS = [
    Tenant(
        name=name,
        settings=parse_settings(
            {{
                "start_date": "{start}",
                "primary_crm": {{"accounts_table": f"crm_{{name}}.account"}},
                "activity": {{"enabled": False}},
                "surveys": {{"enabled": False}},
                "product_usage": {{"enabled": False}},
                "deletions": {{"enabled": False}},
            }}
        ),
        base_url_env=f"{{name.upper()}}_URL",
        access_key_env=f"{{name.upper()}}_KEY",
    )
    for name in {names!r}
]
defs = Definitions.merge(*map(build_tenant_definitions, TENANTS), shared_definitions())
"""
RUN = """
import sys
from dagster import DagsterInstance
from location import defs

job, day = sys.argv[1], sys.argv[2]
with DagsterInstance.get() as instance:
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key=day, raise_on_error=False
    )
print(result.run_id)
sys.exit(0 if result.success else 1)
"""


def postgres_db(db: dict[str, str]) -> dict:
    """``dagster_db`` as the instance's ``storage.postgres.postgres_db``."""
    return {
        "hostname": db["host"],
        "port": int(db["port"]),
        "username": db["user"],
        "password": db["password"],
        "db_name": db["db"],
        "scheme": "postgresql+psycopg2",  # dagster-postgres' driver
    }


def step_spans(instance: DagsterInstance, run_id: str) -> tuple[float, float]:
    """When the run's Gainsight step started and ended (the gate check step takes no slot)."""
    events = [
        entry
        for entry in instance.all_logs(run_id)
        if entry.dagster_event is not None
        and entry.step_key is not None
        and "primary_crm" not in entry.step_key
    ]
    start = min(e.timestamp for e in events if e.dagster_event_type == DagsterEventType.STEP_START)
    end = max(e.timestamp for e in events if e.dagster_event_type == DagsterEventType.STEP_SUCCESS)
    return start, end


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_a_tenants_steps_take_turns_and_tenants_run_side_by_side(
    dagster_db: dict[str, str], postgres_url: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:6]
    names = [f"north_{suffix}", f"south_{suffix}"]
    tenants = [Tenant(name=name) for name in names]
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        yaml.safe_dump(
            {
                "storage": {"postgres": {"postgres_db": postgres_db(dagster_db)}},
                "concurrency": {"pools": {"default_limit": 1, "granularity": "op"}},
                "telemetry": {"enabled": False},
            }
        )
    )
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=n)).isoformat() for n in (2, 3)]
    (tmp_path / "location.py").write_text(
        LOCATION.format(start=date(2025, 1, 1).isoformat(), names=names)
    )
    (tmp_path / "run.py").write_text(textwrap.dedent(RUN))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WAREHOUSE_URL": postgres_url,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    with ExitStack() as stack:
        for variant, tenant in enumerate(tenants, start=1):
            dataset = generate_dataset(companies=20, anchor=DEMO_ANCHOR, variant=variant)
            server = stack.enter_context(DemoTenant(dataset, access_key=DEMO_KEY))
            stack.callback(drop_schemas, postgres_url, [tenant.schema, f"crm_{tenant.name}"])
            load_accounts(postgres_url, dataset.crm_accounts, f"crm_{tenant.name}.account")
            # each run's company query is held a while, so a run keeps its pool slot busy
            server.inject(*(Fault(delay_seconds=HOLD_SECONDS, path="/query") for _ in days))
            env[f"{tenant.name.upper()}_URL"] = server.base_url
            env[f"{tenant.name.upper()}_KEY"] = DEMO_KEY
        # as a deployment does when it adds a tenant: pin its pool before its first runs (two
        # runs that both create a pool at the same moment collide on the pool's row)
        for tenant in tenants:
            subprocess.run(
                [str(BIN / "dagster"), "instance", "concurrency", "set", tenant.pool, "1"],
                env=env,
                check=True,
                capture_output=True,
            )
        processes = {
            (tenant.name, day): subprocess.Popen(
                [sys.executable, "run.py", tenant.named("gainsight_companies_sync"), day],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for tenant in tenants
            for day in days
        }
        run_ids = {}
        for key, process in processes.items():
            out, err = process.communicate(timeout=240)
            assert process.returncode == 0, err[-3000:]
            run_ids[key] = out.strip().splitlines()[-1]
    with DagsterInstance.from_config(str(home)) as instance:
        spans = {key: step_spans(instance, run_id) for key, run_id in run_ids.items()}
        pools = instance.event_log_storage.get_concurrency_keys()

    assert {tenant.pool for tenant in tenants} <= set(pools)
    for tenant in tenants:
        first, second = (spans[(tenant.name, day)] for day in days)
        assert not overlaps(first, second), f"{tenant.name}'s steps ran at once: {first} {second}"
    north = [spans[(names[0], day)] for day in days]
    south = [spans[(names[1], day)] for day in days]
    assert any(overlaps(a, b) for a in north for b in south), (north, south)
