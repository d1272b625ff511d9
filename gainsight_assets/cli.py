"""gainsight-sync: operate the Gainsight sync from a terminal.

Each command works on one Gainsight tenant, one gainsight_assets/defs/<tenant>/defs.yaml:
--tenant NAME, by default the only tenant or the one called default. Its sync settings come from
that file, its connection from the two environment variables the file names (GAINSIGHT_BASE_URL
and GAINSIGHT_ACCESS_KEY for tenant default), the warehouse from WAREHOUSE_URL and the Dagster
instance from DAGSTER_HOME (default .dagster_home). Runs started here are ordinary runs of
the jobs: they show in the Dagster UI's run history, and failures reach gainsight.sync_failures.
Each command exits non-zero with a one-line message when something is wrong.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

from dagster import BetaWarning, PreviewWarning

from gainsight_assets.connection import CliError, resource_from_env
from gainsight_assets.dagster_private import CodeLocationError
from gainsight_assets.settings import SettingsError
from gainsight_assets.tenant import ACCESS_KEY_ENV, TenantError
from resources.gainsight import GainsightAuthError, GainsightError
from resources.redaction import redact
from resources.warehouse import WarehouseError

AUTH_ADVICE = (
    "Validate connection failed with 401: your Gainsight API key has expired or been rotated."
    " Generate a new key in Gainsight (Administration > Connectors 2.0 > Gainsight API),"
    " set it as {access_key_env}, and validate again."
)
EPILOG = """\
examples:
  gainsight-sync demo                      try everything on two local demo tenants, no account needed
  gainsight-sync validate                  check GAINSIGHT_BASE_URL and GAINSIGHT_ACCESS_KEY
  gainsight-sync validate --tenant emea    the same for tenant emea (the variables its defs.yaml names)
  gainsight-sync run                       sync every enabled object now (what its schedule asks)
  gainsight-sync run activities --verbose  one object, with Dagster's event log
  gainsight-sync status                    the last run of each object, and why it failed
"""


def cmd_demo(args: argparse.Namespace) -> int:
    from gainsight_assets.demo.runner import run_demo
    from gainsight_assets.demo.warehouse import DemoWarehouseError, demo_warehouse

    try:
        with demo_warehouse(args.warehouse):
            outcome = run_demo(companies=args.companies, verbose=args.verbose)
    except DemoWarehouseError as exc:
        raise CliError(str(exc)) from exc
    failed = [job for job, ok in outcome.items() if not ok]
    if failed:
        raise CliError(f"Demo run failed for {', '.join(failed)}; see the lines above.")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from gainsight_assets.operations import chosen_tenant, missing_objects

    tenant = chosen_tenant(args)
    gainsight = resource_from_env(tenant)
    count = gainsight.validate_connection()
    print(f"Connected: {count} Gainsight objects discovered.")
    for line in missing_objects(gainsight, tenant):
        print(line)
    return 0


def cmd_objects(args: argparse.Namespace) -> int:
    from gainsight_assets.operations import chosen_tenant

    for obj in resource_from_env(chosen_tenant(args)).list_objects():
        print(f"{obj.object_name:<40} {obj.object_type or '':<10} {obj.label or ''}")
    return 0


def _commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    from gainsight_assets import operations

    return {
        "demo": cmd_demo,
        "validate": cmd_validate,
        "objects": cmd_objects,
        "settings": operations.cmd_settings,
        "sample-activities": operations.cmd_sample_activities,
        "status": operations.cmd_status,
        "run": operations.cmd_run,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gainsight-sync",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="command")
    demo = sub.add_parser(
        "demo",
        help="run every sync job end to end on two local demo tenants and a DuckDB file",
        description="Start one local demo Gainsight tenant per tenant of the defs folder"
        " (default and emea), load each one's demo CRM accounts into the warehouse, run every"
        " enabled sync job over the demo's recent windows and print one line per run and a"
        " summary per tenant. No Gainsight account needed.",
    )
    demo.add_argument("--companies", type=int, default=40, help="demo tenant size (companies)")
    demo.add_argument(
        "--warehouse",
        choices=("duckdb", "postgres"),
        help="postgres: WAREHOUSE_URL, or a throwaway embedded PostgreSQL when it is unset"
        " (needs the dev extra); default: WAREHOUSE_URL or the embedded DuckDB file",
    )
    demo.add_argument("--verbose", action="store_true", help="also print Dagster's event log")
    validate = sub.add_parser(
        "validate",
        help="check the connection: count the objects the tenant exposes",
        description="Call Gainsight with the tenant's URL and access key (GAINSIGHT_BASE_URL and"
        " GAINSIGHT_ACCESS_KEY for tenant default) and count the objects it exposes.",
    )
    objects = sub.add_parser(
        "objects", help="list the tenant's objects (names to use in its defs.yaml)"
    )
    settings = sub.add_parser(
        "settings",
        help="show the effective settings, survey field mappings included",
        description="Print the tenant's settings (its defs.yaml attributes) as the sync reads"
        " them, defaults filled in, with the survey fields detected on the tenant.",
    )
    settings.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    settings.add_argument(
        "--offline", action="store_true", help="do not call Gainsight to detect survey fields"
    )
    sample = sub.add_parser(
        "sample-activities",
        help="count recent activities per ReportingCategory and suggest a category_map",
    )
    sample.add_argument(
        "--budget-seconds", type=float, default=25.0, help="give up after this long (25)"
    )
    status = sub.add_parser(
        "status",
        help="the last run of each object: status, partition, when, and why it failed",
    )
    run = sub.add_parser(
        "run",
        help="sync now: one run per object over the window its schedule asks for",
        description="Start one run of each object's sync job over the window its schedule asks"
        " for (the last closed window; surveys: the trailing surveys.lookback_days) (all"
        " enabled objects by default), one after the other, and print one line per run: status,"
        " partition, rows written, unmatched records, API calls, duration and, for a failure,"
        " the reason. No daemon or webserver is needed; the runs show in the Dagster UI.",
    )
    run.add_argument(
        "objects", nargs="*", help="companies, activities, surveys, product_usage (default: all)"
    )
    run.add_argument("--verbose", action="store_true", help="also print Dagster's event log")
    for command in (validate, objects, settings, sample, status, run):
        command.add_argument(
            "--tenant",
            metavar="NAME",
            help="the tenant (a folder of gainsight_assets/defs); default: the only one, or default",
        )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)
    try:
        return _commands()[args.command](args)
    except GainsightAuthError:
        print(AUTH_ADVICE.format(access_key_env=_access_key_env(args)), file=sys.stderr)
    except (
        CliError,
        SettingsError,
        TenantError,
        GainsightError,
        WarehouseError,
        CodeLocationError,
        LookupError,
    ) as exc:
        print(f"gainsight-sync {args.command}: {redact(str(exc))}", file=sys.stderr)
    return 1


def _access_key_env(args: argparse.Namespace) -> str:
    from gainsight_assets.operations import chosen_tenant

    try:
        return chosen_tenant(args).access_key_env
    except SettingsError:
        return ACCESS_KEY_ENV


if __name__ == "__main__":
    raise SystemExit(main())
