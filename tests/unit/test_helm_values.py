"""Kubernetes without a cluster: the Helm values load into the Kubernetes run launcher the way
the official chart passes them, and the Job it would submit for a run of this project is rendered
and checked (image, env from the Secret, resources, labels). Nothing leaves the process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gainsight_assets.settings import PROJECT_ROOT

pytest.importorskip("dagster_k8s", reason="dagster-k8s is not installed (the `k8s` extra)")

from dagster import DagsterInstance, instance_for_test
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.launcher import LaunchRunContext
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.test_utils import create_run_for_test

DEPLOY = PROJECT_ROOT / "deploy"
VALUES = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
[DEPLOYMENT] = VALUES["dagster-user-deployments"]["deployments"]
IMAGE = f"{DEPLOYMENT['image']['repository']}:{DEPLOYMENT['image']['tag']}"
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def launcher_config(values: dict, kubeconfig: Path) -> dict:
    """The K8sRunLauncher config the chart writes into dagster.yaml from these values (the keys
    this project sets; the chart's in-cluster settings replaced by a local kubeconfig)."""
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    return {
        "load_incluster_config": False,
        "kubeconfig_file": str(kubeconfig),  # no API call is made with it
        "job_namespace": "dagster",
        "image_pull_policy": k8s["imagePullPolicy"],
        "service_account_name": "dagster",
        "instance_config_map": "dagster-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "env_secrets": [secret["name"] for secret in k8s["envSecrets"]],
        "resources": k8s["resources"],
        "labels": k8s["labels"],
    }


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def snake_keys(node):
    """The chart's camelCase keys as the instance's snake_case ones."""
    if isinstance(node, dict):
        # a tag limit's `value` is copied as written (the chart's toYaml)
        return {snake(k): v if k == "value" else snake_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [snake_keys(v) for v in node]
    return node


@pytest.fixture
def k8s_instance(tmp_path: Path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    overrides = {
        "run_launcher": {
            "module": "dagster_k8s",
            "class": "K8sRunLauncher",
            "config": launcher_config(VALUES, kubeconfig),
        },
        "concurrency": snake_keys(VALUES["concurrency"]),
    }
    with instance_for_test(overrides=overrides) as instance:
        yield instance


def rendered_job(instance: DagsterInstance) -> dict:
    """The Job body the launcher would send for a companies sync run of the code location."""
    origin = JobPythonOrigin(
        "gainsight_companies_sync",
        RepositoryPythonOrigin(
            executable_path="/opt/venv/bin/python",
            code_pointer=ModuleCodePointer("gainsight_assets.definitions", "defs", "/app"),
            container_image=IMAGE,  # what the code server reports (DAGSTER_CURRENT_IMAGE)
        ),
    )
    run = create_run_for_test(instance, job_name=origin.job_name, job_code_origin=origin)
    launcher = instance.run_launcher
    sent: list = []
    launcher._api_client.create_namespaced_job_with_retries = lambda body, namespace: sent.append(
        (body, namespace)
    )
    launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    [(body, namespace)] = sent
    assert namespace == "dagster"
    return launcher._api_client.batch_api.api_client.sanitize_for_serialization(body)


def test_the_values_load_into_the_kubernetes_run_launcher(k8s_instance) -> None:
    launcher = k8s_instance.run_launcher
    assert type(launcher).__name__ == "K8sRunLauncher"
    assert launcher.env_secrets == ["gainsight-dagster"]
    # the same queue limits and pools as the instance of the compose deployment
    compose_instance = yaml.safe_load((DEPLOY / "dagster.postgres.yaml").read_text())
    assert snake_keys(VALUES["concurrency"]) == compose_instance["concurrency"]
    assert (
        VALUES["postgresql"]["postgresqlScheme"]
        == (compose_instance["storage"]["postgres"]["postgres_db"]["scheme"])
    )


def test_a_run_becomes_a_job_in_the_code_server_image_with_the_secret(k8s_instance) -> None:
    job = rendered_job(k8s_instance)
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGE
    assert container["imagePullPolicy"] == "IfNotPresent"
    # the image's interpreter (as the code server reports it) runs the run worker
    assert container["args"][:5] == ["/opt/venv/bin/python", "-m", "dagster", "api", "execute_run"]
    assert {"secretRef": {"name": "gainsight-dagster"}} in container["envFrom"]
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"memory": "4Gi"},
    }
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/part-of"] == "gainsight-dagster"
    assert labels["dagster/job"] == "gainsight_companies_sync"
    assert job["metadata"]["labels"]["app.kubernetes.io/part-of"] == "gainsight-dagster"
    # the secret stays in Kubernetes: its name is referenced, no value is written
    text = json.dumps(job)
    assert "GAINSIGHT_ACCESS_KEY" not in text and "WAREHOUSE_URL" not in text
