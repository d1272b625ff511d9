"""``gainsight-sync validate`` names a deletion log the tenant does not have."""

from __future__ import annotations

import pytest

from gainsight_assets.cli import main
from gainsight_assets.demo.server import DemoTenant
from tests.conftest import DEMO_KEY


@pytest.mark.parametrize("has_log", [True, False])
def test_validate_lists_a_missing_deletion_log(
    demo_dataset, capsys, monkeypatch, has_log: bool
) -> None:
    dataset = demo_dataset if has_log else demo_dataset.without("record_delete_log")
    with DemoTenant(dataset, access_key=DEMO_KEY) as tenant:
        monkeypatch.setenv("GAINSIGHT_BASE_URL", tenant.base_url)
        monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", DEMO_KEY)
        code = main(["validate"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == f"Connected: {len(dataset.describe)} Gainsight objects discovered."
    if has_log:
        assert lines[1:] == []
    else:
        assert lines[1:] == [
            "Missing: record_delete_log (deletions.object): deletions will be skipped with a"
            " warning; set deletions.object to the tenant's deletion log or"
            " deletions.enabled: false."
        ]
