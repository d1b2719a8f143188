"""Readiness probes for the node's components (all on 127.0.0.1)."""

from __future__ import annotations

import json
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from testbed.layout import Layout


def http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _admin_context(layout: Layout) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(layout.pki / "ca.crt"))
    ctx.load_cert_chain(str(layout.pki / "admin.crt"), str(layout.pki / "admin.key"))
    return ctx


def _unverified_context() -> ssl.SSLContext:
    # Component /healthz endpoints use self-signed serving certs; we only ask "are you up".
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def api_get(layout: Layout, path: str) -> object:
    url = f"https://127.0.0.1:6443{path}"
    with urllib.request.urlopen(url, timeout=5, context=_admin_context(layout)) as resp:
        return json.load(resp)


def etcd_ready() -> bool:
    return http_ok("http://127.0.0.1:2379/health")


def apiserver_ready(layout: Layout) -> bool:
    return http_ok("https://127.0.0.1:6443/readyz", _admin_context(layout))


def controller_manager_ready() -> bool:
    return http_ok("https://127.0.0.1:10257/healthz", _unverified_context())


def scheduler_ready() -> bool:
    return http_ok("https://127.0.0.1:10259/healthz", _unverified_context())


def socket_ready(path: Path) -> bool:
    # A socket file left by an earlier run exists before the new server listens on it: only
    # a connection that is accepted proves readiness.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def kubelet_ready(address: str) -> bool:
    return http_ok(f"http://{address}:10248/healthz")


def node_ready(layout: Layout, node: str) -> bool:
    try:
        obj = api_get(layout, f"/api/v1/nodes/{node}")
    except (urllib.error.URLError, OSError, ValueError):
        return False
    assert isinstance(obj, dict)
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
