"""Defs folders of the tests' own: a copy of a shipped tenant, its settings changed.

``GAINSIGHT_DEFS_FOLDER`` pointed at one makes the command line, the demo and the code location
(its runs too: they inherit the variable) read its tenants instead of ``gainsight_assets/defs``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gainsight_assets.tenants import DEFAULT_TENANT_FILE


def tenant_folder(
    tmp_path: Path,
    change: Callable[[dict[str, Any]], Any] | None = None,
    *,
    name: str = "default",
    base: Path = DEFAULT_TENANT_FILE,
) -> Path:
    """``tmp_path/defs/<name>/defs.yaml``: ``base`` with ``change`` applied to its attributes;
    the folder ``tmp_path/defs``."""
    raw = yaml.safe_load(base.read_text())
    if change is not None:
        change(raw["attributes"])
    folder = tmp_path / "defs"
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "defs.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder
