"""What the floating-IP tests on the multi-node bed share: a server pod holding the claim `fip`
and a question to the address (the `client` on the nodes' bridge is a conftest fixture)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from kube import busybox_pod
from workload import on_node2

PORT = 8080
CLIENT_IP = "198.18.250.100"
CLIENT_IP6 = "fd5e:250::100"


def server_pod(name: str, namespace: str, node: str, answer: str) -> dict[str, Any]:
    pod = busybox_pod(
        name,
        namespace,
        resourceClaims=[{"name": "fip", "resourceClaimName": "fip"}],
        container={
            "command": ["sh", "-c", f"while true; do echo {answer} | nc -l -p {PORT}; done"]
        },
    )
    return on_node2(pod, node)


def ask(client: str, address: str) -> str:
    """What the server at `address` says to a client in `client`; empty if nothing answers."""
    code = (
        "import socket\n"
        f"s = socket.create_connection(('{address}', {PORT}), timeout=2)\n"
        "print(s.recv(64).decode().strip())\n"
    )
    done = subprocess.run(
        ["ip", "netns", "exec", client, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else ""
