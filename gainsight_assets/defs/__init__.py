"""The tenants: one folder per Gainsight tenant, each with a ``defs.yaml`` (GainsightComponent)."""
