"""The tenants of the project, read from the defs folder without loading any Dagster definitions.

Each ``<folder>/<tenant>/defs.yaml`` is one :class:`~gainsight_assets.component.GainsightComponent`,
parsed with the component's own model, so the command line (``gainsight-sync ... --tenant``), the
demo and the code location all see the same settings. The folder is ``gainsight_assets/defs``;
``GAINSIGHT_DEFS_FOLDER`` names another one laid out the same way (the tests use it for settings
of their own; a deployment may mount its tenants' YAML there), and the code location reads it too.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from gainsight_assets.component import tenant_from_yaml
from gainsight_assets.settings import PROJECT_ROOT, Settings, SettingsError
from gainsight_assets.tenant import DEFAULT_TENANT, Tenant

__all__ = [
    "DEFAULT_TENANT_FILE",
    "DEFS_FOLDER",
    "DEFS_FOLDER_ENV",
    "defs_folder",
    "load_settings",
    "load_tenants",
    "pick_tenant",
    "read_tenant",
]

DEFS_FOLDER = PROJECT_ROOT / "gainsight_assets" / "defs"
DEFS_FOLDER_ENV = "GAINSIGHT_DEFS_FOLDER"
DEFS_FILES = ("defs.yaml", "defs.yml")
DEFAULT_TENANT_FILE = DEFS_FOLDER / DEFAULT_TENANT / "defs.yaml"  # the shipped tenant `default`


class _TextDates(yaml.SafeLoader):
    """YAML's safe loader with dates left as text, so that the settings model parses them and a
    bad one (``start_date: 2025-13-01``) is reported under its key."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def defs_folder() -> Path:
    """``$GAINSIGHT_DEFS_FOLDER``, else the project's ``gainsight_assets/defs``."""
    configured = os.environ.get(DEFS_FOLDER_ENV)
    return Path(configured).resolve() if configured else DEFS_FOLDER


def read_tenant(path: Path) -> Tenant:
    """The tenant of one ``defs.yaml``; :class:`SettingsError` names the file and each problem."""
    if not path.is_file():
        raise SettingsError(
            f"Tenant file {path} does not exist; fix {DEFS_FOLDER_ENV} or create it."
        )
    try:
        raw = yaml.load(path.read_text(), Loader=_TextDates)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    return tenant_from_yaml(path, raw)


def load_tenants(folder: Path | None = None) -> dict[str, Tenant]:
    """Every tenant of the defs folder, by name, in folder order."""
    folder = defs_folder() if folder is None else folder
    if not folder.is_dir():
        raise SettingsError(f"Defs folder {folder} does not exist; fix {DEFS_FOLDER_ENV}.")
    tenants: dict[str, Tenant] = {}
    for child in sorted(p for p in folder.iterdir() if p.is_dir()):
        path = next((child / f for f in DEFS_FILES if (child / f).is_file()), None)
        if path is None:
            continue
        tenant = read_tenant(path)
        if tenant.name in tenants:
            raise SettingsError(
                f"{path}: tenant name '{tenant.name}' is used by another defs folder; give each"
                " tenant its own `name`."
            )
        tenants[tenant.name] = tenant
    if not tenants:
        raise SettingsError(
            f"No tenant in {folder}: add one with"
            " `dg scaffold defs gainsight_assets.GainsightComponent <name>`."
        )
    return tenants


def load_settings(path: Path | str | None = None) -> Settings:
    """The settings of a tenant's ``defs.yaml`` (``path``), or of the tenant the command line
    picks when none is named (:func:`pick_tenant`)."""
    return pick_tenant().settings if path is None else read_tenant(Path(path)).settings


def pick_tenant(name: str | None = None, tenants: dict[str, Tenant] | None = None) -> Tenant:
    """The tenant called ``name``; left out, the only tenant, else the one called ``default``."""
    tenants = load_tenants() if tenants is None else tenants
    if name is None:
        if len(tenants) == 1:
            return next(iter(tenants.values()))
        name = DEFAULT_TENANT
        if name not in tenants:
            raise SettingsError(
                f"There are {len(tenants)} tenants ({', '.join(tenants)}) and none is called"
                " default; choose one with --tenant NAME."
            )
    if name not in tenants:
        raise SettingsError(f"No tenant '{name}'; the tenants are {', '.join(tenants)}.")
    return tenants[name]


def settings_file(name: str) -> str:
    """Where tenant ``name``'s settings are, as an operator types the path."""
    path = defs_folder() / name / "defs.yaml"
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)
