"""Identifier rules shared by both engines: quoting, validation and letter-case collisions.

Every schema, table and column name reaches SQL through :func:`quote_ident` only: it is wrapped in
double quotes with embedded double quotes doubled, so quotes, semicolons, comment markers, spaces,
unicode and reserved words are plain characters of a name and cannot end it.

Names must be the same on DuckDB and Postgres, so a name is refused (:class:`IdentifierError`) if
one engine could not keep it as written:

- empty names and names containing NUL;
- names longer than 63 UTF-8 bytes (Postgres would silently truncate them);
- the Postgres system column names (``ctid``, ``xmin``, ...) as column names.

Letter case. DuckDB matches identifiers case-insensitively even when quoted (ASCII letters only:
``número_Ç`` and ``número_ç`` stay distinct, ``Score`` and ``score`` do not), Postgres matches them
exactly. Rather than renaming anything, the warehouse **refuses** names that differ only in ASCII
letter case, identically on both engines and with a message naming both spellings:

- two columns of one frame (``Score`` and ``score``);
- a frame column and an existing table column (``score`` written to a table that has ``Score``);
- a table or schema asked for as ``Gainsight.Activities`` when ``gainsight.activities`` exists.

Reads, windows, keys and column selections use the exact names; a name that matches only up to
case is reported with the spelling the warehouse has.
"""

from __future__ import annotations

from collections.abc import Iterable

from resources.warehouse.errors import IdentifierError

MAX_IDENTIFIER_BYTES = 63
POSTGRES_SYSTEM_COLUMNS = frozenset({"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(name: str) -> str:
    """The form DuckDB compares identifiers in: ASCII letters lower-cased, the rest untouched."""
    return name.translate(_ASCII_LOWER)


def check_identifier(name: object, what: str = "name") -> str:
    """Return ``name`` if both engines can store it exactly as written, else raise."""
    if not isinstance(name, str):
        raise IdentifierError(f"A {what} must be a string, got {type(name).__name__}: {name!r}.")
    if not name:
        raise IdentifierError(f"A {what} cannot be empty.")
    if "\x00" in name:
        raise IdentifierError(f"The {what} {name!r} contains a NUL character.")
    size = len(name.encode("utf-8"))
    if size > MAX_IDENTIFIER_BYTES:
        raise IdentifierError(
            f"The {what} {name!r} is {size} bytes long; Postgres keeps only"
            f" {MAX_IDENTIFIER_BYTES}. Shorten it."
        )
    return name


def check_column_name(name: object) -> str:
    checked = check_identifier(name, "column name")
    if checked in POSTGRES_SYSTEM_COLUMNS:
        raise IdentifierError(
            f"The column name {checked!r} is reserved for a Postgres system column. Rename it."
        )
    return checked


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (embedded quotes doubled)."""
    check_identifier(name)
    return '"' + name.replace('"', '""') + '"'


def case_collisions(names: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of distinct names that are equal up to ASCII letter case, in input order."""
    seen: dict[str, str] = {}
    clashes: list[tuple[str, str]] = []
    for name in names:
        key = fold(name)
        if key in seen and seen[key] != name:
            clashes.append((seen[key], name))
        else:
            seen.setdefault(key, name)
    return clashes


def check_no_case_collisions(names: Iterable[str], where: str) -> None:
    clashes = case_collisions(names)
    if clashes:
        pairs = ", ".join(f"{a!r} and {b!r}" for a, b in clashes)
        raise IdentifierError(
            f"{where}: the columns {pairs} differ only in letter case. DuckDB treats them as the"
            " same column, so the warehouse refuses them on every engine. Rename one of them in"
            " the asset."
        )
