"""Small helpers over the Kubernetes dynamic client for the cluster tier: objects as dicts,
bounded waits, and a look into a pod's network namespace from the host."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import config, dynamic
from kubernetes.client import ApiClient
from kubernetes.dynamic.exceptions import NotFoundError

TEST_IMAGE = "netclaim.io/test/busybox:1"


class Kube:
    def __init__(self, kubeconfig: str) -> None:
        self.api_client: ApiClient = config.new_client_from_config(config_file=kubeconfig)
        self.dyn = dynamic.DynamicClient(self.api_client)

    def resource(self, api_version: str, kind: str) -> Any:
        return self.dyn.resources.get(api_version=api_version, kind=kind)

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        res = self.resource(obj["apiVersion"], obj["kind"])
        ns = obj["metadata"].get("namespace")
        return dict(res.create(body=dict(obj), namespace=ns).to_dict())

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        try:
            obj = self.resource(api_version, kind).get(name=name, namespace=namespace)
        except NotFoundError:
            return None
        return dict(obj.to_dict())

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        with contextlib.suppress(NotFoundError):
            self.resource(api_version, kind).delete(name=name, namespace=namespace)

    def wait_for(
        self, what: str, check: Callable[[], Any], timeout: float = 120.0, interval: float = 0.5
    ) -> Any:
        """Poll `check` until it returns something truthy; fail naming `what` after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    def wait_pod_running(self, name: str, namespace: str, timeout: float = 120.0) -> dict[str, Any]:
        def running() -> dict[str, Any] | None:
            pod = self.get("v1", "Pod", name, namespace)
            return pod if pod and pod.get("status", {}).get("phase") == "Running" else None

        return dict(self.wait_for(f"pod {namespace}/{name} Running", running, timeout))


def busybox_pod(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    """A pod running our registry-less test image; extra keyword arguments go into its spec."""
    container: dict[str, Any] = {
        "name": "main",
        "image": TEST_IMAGE,
        "imagePullPolicy": "Never",
        "command": ["sleep", "3600"],
    }
    container.update(spec.pop("container", {}))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "containers": [container],
            "terminationGracePeriodSeconds": 1,
            "automountServiceAccountToken": False,
            **spec,
        },
    }


def sandbox_pid(pod: Mapping[str, Any], containerd_socket: str, ctr: str) -> int:
    """PID of the pod's sandbox (pause) process, found through containerd's task list."""
    return _task_pid(pod, containerd_socket, ctr, lambda labels: _kind(labels) == "sandbox")


def container_pid(pod: Mapping[str, Any], container: str, containerd_socket: str, ctr: str) -> int:
    """PID of the running task of one of the pod's containers (the newest after restarts)."""

    def wanted(labels: Mapping[str, str]) -> bool:
        return (
            _kind(labels) == "container" and labels.get("io.kubernetes.container.name") == container
        )

    return _task_pid(pod, containerd_socket, ctr, wanted)


def _kind(labels: Mapping[str, str]) -> str | None:
    return labels.get("io.cri-containerd.kind")


def _task_pid(
    pod: Mapping[str, Any],
    containerd_socket: str,
    ctr: str,
    wanted: Callable[[Mapping[str, str]], bool],
) -> int:
    uid = pod["metadata"]["uid"]
    base = [ctr, "--address", containerd_socket, "-n", "k8s.io"]
    for line in subprocess.run(
        [*base, "tasks", "ls"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[1:]:
        task_id, pid, status = line.split()[:3]
        if status != "RUNNING":
            continue
        info = json.loads(
            subprocess.run(
                [*base, "containers", "info", task_id], capture_output=True, text=True, check=True
            ).stdout
        )
        labels = info.get("Labels", {})
        if labels.get("io.kubernetes.pod.uid") == uid and wanted(labels):
            return int(pid)
    raise AssertionError(f"no running task found for pod uid {uid}")


def netns_exec(pid: int, *argv: str) -> str:
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-n", *argv], capture_output=True, text=True, check=True
    ).stdout


def kubectl_exec(
    kubectl: str, kubeconfig: str, pod: Mapping[str, Any], container: str, *argv: str
) -> str:
    """Run `argv` inside a container through apiserver -> kubelet -> containerd streaming."""
    meta = pod["metadata"]
    where = ["-n", meta["namespace"], "exec", meta["name"], "-c", container]
    return subprocess.run(
        [kubectl, "--kubeconfig", kubeconfig, *where, "--", *argv],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
