"""``gainsight-sync``: the seed's wizard tools from a terminal.

    gainsight-sync demo                 run everything end to end on the demo tenant + DuckDB
    gainsight-sync validate             "Validate connection": count the objects discovered
    gainsight-sync objects              list the tenant's objects
    gainsight-sync settings --json      effective settings, survey field mappings filled in
    gainsight-sync sample-activities    ReportingCategory counts and a mapping to paste
    gainsight-sync status               the object sync status banner
    gainsight-sync run [OBJECT ...]     "Run all sync jobs" / one row's Run button

Each command exits non-zero with a clear message on failure. Connection settings come from
GAINSIGHT_BASE_URL and GAINSIGHT_ACCESS_KEY, settings from GAINSIGHT_SETTINGS.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence

from dagster import BetaWarning, PreviewWarning

from gainsight_assets.settings import SettingsError
from resources.gainsight import GainsightAuthError, GainsightError, GainsightResource

AUTH_ADVICE = (
    "Validate connection failed with 401: your Gainsight API key has expired or been rotated."
    " Generate a new key in Gainsight (Administration > Connectors 2.0 > Gainsight API),"
    " set it as GAINSIGHT_ACCESS_KEY, and validate again."
)


class CliError(Exception):
    """A failure to report on stderr with exit status 1."""


def resource_from_env() -> GainsightResource:
    missing = [n for n in ("GAINSIGHT_BASE_URL", "GAINSIGHT_ACCESS_KEY") if not os.environ.get(n)]
    if missing:
        raise CliError(
            f"{' and '.join(missing)} not set. Export your tenant URL and API key, or run"
            " `gainsight-sync demo` to try the project on the local demo tenant."
        )
    return GainsightResource(
        base_url=os.environ["GAINSIGHT_BASE_URL"], access_key=os.environ["GAINSIGHT_ACCESS_KEY"]
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from gainsight_assets.demo.runner import run_demo
    from gainsight_assets.demo.warehouse import DemoWarehouseError, demo_warehouse

    try:
        with demo_warehouse(args.warehouse):
            outcome = run_demo(companies=args.companies)
    except DemoWarehouseError as exc:
        raise CliError(str(exc)) from exc
    failed = [job for job, ok in outcome.items() if not ok]
    if failed:
        raise CliError(f"Demo run failed for {', '.join(failed)}; see the log above.")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    count = resource_from_env().validate_connection()
    print(f"Connected: {count} Gainsight objects discovered.")
    return 0


def cmd_objects(args: argparse.Namespace) -> int:
    for obj in resource_from_env().list_objects():
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
    p = argparse.ArgumentParser(prog="gainsight-sync", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run every job end to end on the demo tenant + DuckDB")
    demo.add_argument("--companies", type=int, default=40, help="demo tenant size")
    demo.add_argument(
        "--warehouse",
        choices=("duckdb", "postgres"),
        help="postgres: WAREHOUSE_URL, or a throwaway embedded PostgreSQL when it is unset"
        " (needs the dev extra); default: WAREHOUSE_URL or the embedded DuckDB file",
    )
    sub.add_parser("validate", help='"Validate connection": count the objects discovered')
    sub.add_parser("objects", help="list the tenant's objects")
    settings = sub.add_parser("settings", help="show the effective settings")
    settings.add_argument("--json", action="store_true", help="as JSON (the wizard's Show JSON)")
    settings.add_argument(
        "--offline", action="store_true", help="do not call Gainsight to detect survey fields"
    )
    sample = sub.add_parser("sample-activities", help="ReportingCategory counts and mapping")
    sample.add_argument("--budget-seconds", type=float, default=25.0)
    sub.add_parser("status", help="the object sync status banner")
    run = sub.add_parser("run", help="run sync jobs now (all enabled objects by default)")
    run.add_argument("objects", nargs="*", help="companies, activities, surveys, product_usage")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)
    try:
        return _commands()[args.command](args)
    except GainsightAuthError:
        print(AUTH_ADVICE, file=sys.stderr)
    except (CliError, SettingsError, GainsightError, LookupError) as exc:
        print(f"gainsight-sync {args.command}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
