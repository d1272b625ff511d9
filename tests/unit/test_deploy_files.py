"""The deployment files agree with each other (Docker cannot run here, so what can be checked
without it is): every environment variable the instance and workspace read is set where they are
read, the image runs the code server as a non-root user from the lock file, and no secret is
written into any of them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from gainsight_assets.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()


def env_names(node) -> set[str]:
    """Every `env: NAME` in a Dagster YAML file."""
    if isinstance(node, dict):
        found = {node["env"]} if set(node) == {"env"} else set()
        return found.union(*(env_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(env_names(v) for v in node))
    return set()


def service_env(name: str) -> dict[str, str]:
    return {k: str(v) for k, v in COMPOSE["services"][name]["environment"].items()}


def test_each_dagster_service_has_the_variables_its_files_read() -> None:
    instance = env_names(yaml.safe_load((DEPLOY / "dagster.postgres.yaml").read_text()))
    workspace = env_names(yaml.safe_load((DEPLOY / "workspace.yaml").read_text()))
    assert instance == {f"DAGSTER_PG_{k}" for k in ("HOST", "PORT", "USER", "PASSWORD", "DB")}
    assert workspace == {"DAGSTER_CODE_SERVER_HOST", "DAGSTER_CODE_SERVER_PORT"}
    for service in ("webserver", "daemon"):
        assert instance | workspace <= set(service_env(service)), service
    # runs execute in the code server: they need the instance, Gainsight and the warehouse
    assert instance | {"GAINSIGHT_BASE_URL", "GAINSIGHT_ACCESS_KEY", "WAREHOUSE_URL"} <= set(
        service_env("code-server")
    )
    assert service_env("webserver")["DAGSTER_CODE_SERVER_HOST"] in COMPOSE["services"]


def test_secrets_come_from_the_environment_never_from_the_files() -> None:
    for service in COMPOSE["services"].values():
        for name, value in service.get("environment", {}).items():
            if any(word in name for word in ("PASSWORD", "KEY", "URL")):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), (name, value)
    assert not re.search(r"(?i)(ACCESS_KEY|PASSWORD)\s*=", DOCKERFILE.split("FROM", 1)[1])


def test_the_image_runs_the_code_server_as_a_non_root_user_from_the_lock() -> None:
    assert "ENTRYPOINT" not in DOCKERFILE  # the Helm chart and run pods pass whole commands
    cmd = re.search(r"^CMD \[(.*?)\]$", DOCKERFILE, re.M | re.S).group(1)
    argv = [a.strip().strip('"') for a in cmd.replace("\\\n", "").split(",")]
    assert argv[:3] == ["dagster", "code-server", "start"]
    assert "gainsight_assets.definitions" in argv and argv[argv.index("-p") + 1] == "4000"
    [user] = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert user not in {"root", "0"}
    assert "uv sync --frozen" in DOCKERFILE
    for source in re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE, re.M):
        assert (PROJECT_ROOT / source).exists(), source
    # the webserver and daemon read the workspace file the image copies from deploy/
    assert "COPY deploy/workspace.yaml /opt/dagster/workspace.yaml" in DOCKERFILE
    for service in ("webserver", "daemon"):
        command = COMPOSE["services"][service]["command"]
        assert command[command.index("-w") + 1] == "/opt/dagster/workspace.yaml"
    build = COMPOSE["services"]["code-server"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"


def test_the_dockerignore_lets_through_what_the_dockerfile_copies() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M):
        for path in source.split():
            assert Path(path).as_posix().rstrip("/") in allowed, path
