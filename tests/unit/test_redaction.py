"""Secrets never reach what people see: one redaction function, used on every path.

The tenant below echoes the access key in its error answers (as a misbehaving proxy or a
debugging endpoint might); the key must not appear in the command line's output, in Dagster's
event log, or in the text of the exception a step fails with.
"""

from __future__ import annotations

import httpx
import pytest
import respx
from dagster import asset, instance_for_test, materialize, serialize_value

from gainsight_assets import cli
from gainsight_assets.resource_defs import build_resources
from resources.gainsight import GainsightResource
from resources.redaction import REDACTED, redact
from resources.warehouse import parse_warehouse_url

BASE = "https://acme.gainsightcloud.com"
KEY = "gs-live-7f3a9c21e4b84d0f"


def echoing_tenant(mock: respx.MockRouter) -> None:
    mock.route().mock(
        return_value=httpx.Response(
            400,
            json={
                "result": False,
                "errorCode": "GS_4001",
                "errorDesc": f"request signed with {KEY} is not allowed here",
            },
        )
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {KEY} refused", f"token {REDACTED} refused"),
        ("accesskey: k-123 rejected", f"accesskey: {REDACTED} rejected"),
        ('headers {"accessKey": "k-123"}', f'headers {{"accessKey": "{REDACTED}"}}'),
        ("postgresql://u:p%40ss@db/x", f"postgresql://u:{REDACTED}@db/x"),
        ("root:hunter2@db/x", f"root:{REDACTED}@db/x"),
        ("host=db password=hunter2 dbname=x", f"host=db password={REDACTED} dbname=x"),
        ("postgresql://user@host/db, at 12:30 (UTC)", "postgresql://user@host/db, at 12:30 (UTC)"),
    ],
)
def test_redact(text: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", KEY)
    assert redact(text) == expected


def test_named_secrets_and_short_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", "k")  # a placeholder: not replaced everywhere
    assert redact("a key-like word", ()) == "a key-like word"
    assert redact("pw is pw", ("pw", None, "")) == f"{REDACTED} is {REDACTED}"
    assert "hunter2" not in str(parse_warehouse_url("postgresql://u:hunter2@db:5432/x"))


def test_the_key_never_reaches_the_command_line_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAINSIGHT_BASE_URL", BASE)
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", KEY)
    with respx.mock(assert_all_called=False) as mock:
        echoing_tenant(mock)
        assert cli.main(["validate"]) == 1
        assert cli.main(["objects"]) == 1
    shown = capsys.readouterr()
    assert "is not allowed here" in shown.err  # the tenant's answer is shown...
    assert KEY not in shown.out + shown.err  # ...without the key
    assert REDACTED in shown.err


def test_the_key_never_reaches_the_event_log_or_the_exception() -> None:
    @asset
    def probe(gainsight: GainsightResource) -> None:
        gainsight.validate_connection()

    res = build_resources(
        base_url=BASE, access_key=KEY, warehouse_url="duckdb:///unused.duckdb", max_retries=0
    )
    with instance_for_test() as instance, respx.mock(assert_all_called=False) as mock:
        echoing_tenant(mock)
        result = materialize([probe], resources=res, instance=instance, raise_on_error=False)
        assert not result.success
        logs = [serialize_value(entry) for entry in instance.all_logs(result.run_id)]
    error = result.get_step_failure_events()[0].step_failure_data.error
    texts = []
    while error is not None:
        texts.append(error.to_string())
        error = error.cause
    assert any("is not allowed here" in text for text in texts)
    assert any("is not allowed here" in entry for entry in logs)
    for text in [*texts, *logs]:
        assert KEY not in text


def test_no_other_module_masks_secrets_by_hand() -> None:
    """Every mask comes from resources.redaction: no other module writes one of its own."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    masks = {"<redacted>", "***", "****"}
    found = []
    for folder in ("gainsight_assets", "resources", "schedules", "sensors"):
        for path in sorted((root / folder).rglob("*.py")):
            if path.relative_to(root).as_posix() == "resources/redaction.py":
                continue
            tree = ast.parse(path.read_text())
            docstrings = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                and node.body
                and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
            }
            found += [
                f"{path.relative_to(root)}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and any(mask in node.value for mask in masks)
            ]
    assert found == []
