"""The Dagster component: one instance per Gainsight tenant, in ``defs/<tenant>/defs.yaml``.

The YAML's attributes are the tenant's ``name``, its ``connection`` (the names of two environment
variables) and every sync setting of :class:`~gainsight_assets.settings.Settings`, which this
class extends rather than copies. Dagster loads the instances (``dg list defs``, ``dg dev``, the
code location); :mod:`gainsight_assets.tenants` reads the same files with the same model for the
command line, without loading any definitions.

Validation is this project's own: Dagster hands the attributes over unchecked, and a bad setting
stops the load with :func:`~gainsight_assets.settings._explain`'s message (the file, then one line
per problem naming the key and the fix). ``dg check yaml`` checks the same attributes against the
model's JSON schema (unknown keys, types, choices, limits), naming the file, line and key.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gainsight_assets.settings import Settings, SettingsError, _explain
from gainsight_assets.tenant import (
    ACCESS_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_TENANT,
    Tenant,
    TenantError,
)

__all__ = ["COMPONENT_TYPE", "Connection", "GainsightComponent", "GainsightScaffolder"]

COMPONENT_TYPE = "gainsight_assets.GainsightComponent"


class Connection(BaseModel):
    """Where the tenant's connection comes from: environment variable names, never values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url_env: str = Field(
        default=BASE_URL_ENV,
        description="environment variable holding https://<tenant>.gainsightcloud.com",
    )
    access_key_env: str = Field(
        default=ACCESS_KEY_ENV,
        description="environment variable holding the tenant's REST API access key",
    )


class _Attributes(dg.Model):
    """What Dagster validates at load: anything, so that :meth:`GainsightComponent.load` gives the
    project's own message. Its JSON schema (``dg check yaml``, the UI) is the strict one."""

    model_config = ConfigDict(extra="allow")

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return GainsightComponent.model_json_schema(*args, **kwargs)


class GainsightScaffolder(dg.Scaffolder):
    """``dg scaffold defs gainsight_assets.GainsightComponent <name>``: a ``defs.yaml`` for tenant
    ``<name>`` whose connection names ``<NAME>_GAINSIGHT_BASE_URL`` and
    ``<NAME>_GAINSIGHT_ACCESS_KEY``, with the settings most tenants change."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        name = request.target_path.name
        request.target_path.mkdir(parents=True, exist_ok=True)
        (request.target_path / "defs.yaml").write_text(scaffold_yaml(name, request.type_name))


def scaffold_yaml(name: str, type_name: str = COMPONENT_TYPE) -> str:
    """The ``defs.yaml`` of a new tenant: the keys to fill in; every other setting has a default
    (README's settings table)."""
    prefix = "" if name == DEFAULT_TENANT else f"{name.upper()}_"
    return textwrap.dedent(
        f"""\
        # Gainsight tenant `{name}`: every attribute is in README's settings table; left out, a
        # setting takes its default. `dg check yaml` checks this file, `gainsight-sync settings
        # --tenant {name} --offline` shows it with the defaults filled in.
        type: {type_name}
        attributes:
          connection:                          # environment variable names, never their values
            base_url_env: {prefix}GAINSIGHT_BASE_URL
            access_key_env: {prefix}GAINSIGHT_ACCESS_KEY
          primary_crm:
            system: salesforce                 # salesforce | hubspot
            accounts_table: salesforce.account # schema.table your CRM pipeline loads
            account_id_column: id
            name_column: name
            domain_column: website
          gsid_field: gainsight_gsid_c         # accounts column holding the Gainsight GSID
          start_date: 2025-01-01               # first partition of every asset
          company:
            crm_id_field: SfdcAccountId        # Gainsight company field holding the CRM id
        """
    )


@dg.scaffold_with(GainsightScaffolder)
class GainsightComponent(dg.Component, dg.Resolvable, dg.Model, Settings):
    """Syncs one Gainsight CS tenant into the warehouse as a secondary CRM.

    One instance per tenant, in ``defs/<tenant>/defs.yaml``. It reads companies, the activity
    timeline, survey responses, product usage and the deletion log into partitioned assets,
    each on its own schedule, resolves every record to an account of your primary CRM
    (Salesforce or HubSpot) and waits for that CRM's accounts table (a blocking gate check).

    Attributes:

    - ``name``: the tenant's name (lower case letters, digits, ``_``); default: the defs folder's
      name.
    - ``connection``: ``base_url_env`` and ``access_key_env``, the *names* of the environment
      variables holding the tenant's URL and API key (default ``GAINSIGHT_BASE_URL`` and
      ``GAINSIGHT_ACCESS_KEY``). Values never go in the YAML.
    - the sync settings: ``primary_crm`` (``system``, ``accounts_table``, ``account_id_column``,
      ``name_column``, ``domain_column``), ``gsid_field``, ``start_date``, ``company``,
      ``activity``, ``surveys``, ``product_usage``, ``deletions``, ``quality``; every key is in
      the README's settings table, each has a default. A bad one stops the load with the key and
      the fix.

    Naming rule: tenant ``default`` keeps the one-tenant layout (assets ``gainsight/<object>``,
    tables ``gainsight.<object>``, jobs ``gainsight_<object>_sync``, resource ``gainsight``, pool
    ``gainsight_api``); any other tenant ``<name>`` gets ``gainsight/<name>/<object>``,
    ``gainsight_<name>.<object>``, ``<name>_gainsight_<object>_sync``, resource
    ``gainsight_<name>`` and pool ``<name>_gainsight_api``.

    Add one with ``dg scaffold defs gainsight_assets.GainsightComponent <name>``.
    """

    name: str | None = Field(
        default=None, description="the tenant's name; default: the defs folder's name"
    )
    connection: Connection = Field(
        default_factory=Connection,
        description="names of the environment variables holding the URL and the access key",
    )

    @classmethod
    def model(cls) -> type[BaseModel]:
        return _Attributes

    @classmethod
    def load(cls, attributes: BaseModel | None, context: dg.ComponentLoadContext) -> Any:
        raw = attributes.model_dump(exclude_unset=True) if attributes is not None else {}
        raw = context.resolution_context.resolve_value(raw)  # {{ env.X }} and other templates
        folder = (
            context.path if context.path.suffix not in (".yaml", ".yml") else context.path.parent
        )
        return cls.parse(raw, source=str(folder / "defs.yaml"), default_name=folder.name)

    @classmethod
    def parse(cls, raw: Any, *, source: str, default_name: str) -> GainsightComponent:
        """Validate a tenant's attributes; :class:`SettingsError` lists every problem."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise SettingsError(
                f"{source}: `attributes` must be a mapping of settings, got {type(raw).__name__}."
            )
        try:
            component = cls.model_validate({"name": default_name, **raw})
        except ValidationError as exc:
            raise SettingsError(_explain(exc, source)) from None
        try:
            component.tenant  # noqa: B018  (its name and environment variable names)
        except TenantError as exc:
            raise SettingsError(f"{source} has 1 problem(s):\n  - {exc}") from None
        return component

    @property
    def settings(self) -> Settings:
        return Settings.model_validate(self.model_dump(include=set(Settings.model_fields)))

    @property
    def tenant(self) -> Tenant:
        return Tenant(
            name=self.name or DEFAULT_TENANT,
            settings=self.settings,
            base_url_env=self.connection.base_url_env,
            access_key_env=self.connection.access_key_env,
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        from gainsight_assets.tenant_definitions import build_tenant_definitions

        return build_tenant_definitions(self.tenant)


def tenant_from_yaml(path: Path, raw: Any) -> Tenant:
    """The tenant of one parsed ``defs.yaml`` document (``raw``), for readers outside Dagster."""
    source = str(path)
    if not isinstance(raw, dict) or "type" not in raw:
        raise SettingsError(
            f"{source} must have `type: {COMPONENT_TYPE}` and the tenant's `attributes`."
        )
    if raw["type"] != COMPONENT_TYPE and not str(raw["type"]).endswith(".GainsightComponent"):
        raise SettingsError(f"{source}: type is {raw['type']!r}, expected {COMPONENT_TYPE}.")
    unknown = sorted(set(raw) - {"type", "attributes", "requirements", "post_processing"})
    if unknown:
        raise SettingsError(f"{source}: unknown top-level key(s) {', '.join(unknown)}.")
    component = GainsightComponent.parse(
        raw.get("attributes"), source=source, default_name=path.parent.name
    )
    return component.tenant
