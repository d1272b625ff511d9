"""Configuration of GainsightResource: URLs, limits, and secrets in reprs."""

from __future__ import annotations

import pytest
from dagster import EnvVar, asset, materialize
from pydantic import ValidationError

from resources.gainsight import GainsightResource, check_base_url

KEY = "another-secret-key-42"


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.gainsightcloud.com",
        "https://acme.eu.gainsightcloud.com/",
        "http://127.0.0.1:8765",
        "http://localhost:9000",
        "http://[::1]:8000",
    ],
)
def test_accepted_base_urls(url: str) -> None:
    assert GainsightResource(base_url=url, access_key=KEY).base_url == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("http://acme.gainsightcloud.com", "must use https"),
        ("ftp://acme.gainsightcloud.com", "https URL"),
        ("acme.gainsightcloud.com", "https URL"),
        ("https://acme.gainsightcloud.com/v1/data", "without a path"),
        ("https://user:pw@acme.gainsightcloud.com", "must not carry credentials"),
    ],
)
def test_rejected_base_urls_say_how_to_fix(url: str, fix: str) -> None:
    with pytest.raises(ValidationError) as err:
        GainsightResource(base_url=url, access_key=KEY)
    assert fix in str(err.value)
    assert "pw@" not in str(err.value).replace(url, "")


def test_page_size_is_capped_at_gainsights_maximum() -> None:
    with pytest.raises(ValidationError, match="between 1 and 5000"):
        GainsightResource(base_url="https://a.gainsightcloud.com", access_key=KEY, page_size=6000)


def test_env_vars_are_resolved_at_run_time_not_definition_time() -> None:
    resource = GainsightResource(
        base_url=EnvVar("GAINSIGHT_BASE_URL"), access_key=EnvVar("GAINSIGHT_ACCESS_KEY")
    )
    assert "GAINSIGHT_ACCESS_KEY" not in repr(resource)


def test_repr_and_str_hide_the_key() -> None:
    resource = GainsightResource(base_url="https://a.gainsightcloud.com", access_key=KEY)
    assert KEY not in repr(resource)
    assert KEY not in str(resource)
    assert "<redacted>" in repr(resource)


def test_check_base_url_normalises() -> None:
    assert check_base_url(" https://a.gainsightcloud.com/ ") == "https://a.gainsightcloud.com"


def test_an_access_key_typed_into_run_config_fails_the_run(monkeypatch) -> None:
    """The key comes only from the environment: run config is stored and shown in the UI."""
    monkeypatch.setenv("GAINSIGHT_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GAINSIGHT_ACCESS_KEY", KEY)
    typed = "typed-into-the-launchpad-77"

    @asset
    def needs_gainsight(gainsight: GainsightResource) -> None:
        assert gainsight.client is not None

    resources = {
        "gainsight": GainsightResource(
            base_url=EnvVar("GAINSIGHT_BASE_URL"), access_key=EnvVar("GAINSIGHT_ACCESS_KEY")
        )
    }
    assert materialize([needs_gainsight], resources=resources).success  # from the environment
    result = materialize(
        [needs_gainsight],
        resources=resources,
        run_config={
            "resources": {
                "gainsight": {
                    "config": {"base_url": {"env": "GAINSIGHT_BASE_URL"}, "access_key": typed}
                }
            }
        },
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_failure]
    message = str(failure.event_specific_data.error.to_string())
    assert "sets resources.gainsight.config.access_key" in message
    assert "GAINSIGHT_ACCESS_KEY environment variable" in message
    assert typed not in message


def test_the_package_lists_every_name_it_exports() -> None:
    import resources.gainsight as package

    # the client's names are loaded on first use, and still listed (editors, help, star-import)
    assert set(package.__all__) <= set(dir(package))
    assert all(getattr(package, name) is not None for name in package.__all__)
