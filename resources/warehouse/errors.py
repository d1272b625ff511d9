"""Errors raised by the warehouse layer.

Every message names the table (and column, where there is one) and says what to do next. None of
them carries a password: URLs appear only in their redacted form.
"""

from __future__ import annotations


class WarehouseError(Exception):
    """A warehouse operation failed; the message says which table and why."""


class WarehouseConfigError(WarehouseError, ValueError):
    """WAREHOUSE_URL (or a resource's ``url``) is not one of the accepted forms."""


class IdentifierError(WarehouseError, ValueError):
    """A schema, table or column name cannot be stored the same way on every engine."""


class TableNotFoundError(WarehouseError):
    """The table (or view) does not exist in the warehouse."""


class SchemaEvolutionError(WarehouseError):
    """New data does not fit the table's columns and the table cannot be changed without loss."""


class SliceMismatchError(WarehouseError, ValueError):
    """Rows of a frame fall outside the slice (window / equals) they are meant to replace."""


class UnsupportedTypeError(WarehouseError, TypeError):
    """A Polars dtype has no column type in the warehouse."""


class WarehouseLockedError(WarehouseError):
    """Another process held the DuckDB warehouse file for longer than the lock timeout."""
