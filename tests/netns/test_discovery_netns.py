"""Inventory discovery and the link-event watch on real links in a namespace we create."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from netns_helpers import ip, ip_json

from netclaim_agent.discovery import Inventory
from netclaim_agent.model import DeviceKind

pytestmark = pytest.mark.netns


def build_node(netns: str, wire: str) -> None:
    """An uplink with the default route, a veth pair, a bridge with a port, the agent's links,
    a pod-like veth whose peer is in another netns."""
    ip("link", "add", "up0", "type", "veth", "peer", "name", "up0peer", netns=netns)
    ip("addr", "add", "192.0.2.1/24", "dev", "up0", netns=netns)
    ip("link", "set", "up0", "up", netns=netns)
    ip("route", "add", "default", "via", "192.0.2.254", "dev", "up0", netns=netns)
    ip("link", "add", "data0", "mtu", "9000", "type", "veth", "peer", "name", "data1", netns=netns)
    ip("link", "add", "br0", "type", "bridge", netns=netns)
    ip("link", "add", "port0", "type", "veth", "peer", "name", "port1", netns=netns)
    ip("link", "set", "port0", "master", "br0", netns=netns)
    ip("link", "add", "nc0abc", "type", "veth", "peer", "name", "veth0abc", netns=netns)
    ip("link", "add", "nt0abc", "type", "veth", "peer", "name", "eth7", netns=netns)
    ip("link", "set", "eth7", "master", "br0", netns=netns)
    ip("link", "add", "pod0", "type", "veth", "peer", "name", "eth0", netns=netns)
    ip("link", "set", "eth0", "netns", wire, netns=netns)  # like a pod's veth, peer elsewhere


def test_discovery_in_netns(make_netns: Callable[[], str], tmp_path: Path) -> None:
    netns, wire = make_netns(), make_netns()
    build_node(netns, wire)
    assert ip_json("route", "show", "default", netns=netns)[0]["dev"] == "up0"

    inventory = Inventory(sysfs_root=tmp_path, netns=netns)
    assert inventory.refresh() is True
    names = {d.name for d in inventory.devices()}
    assert names == {
        "dummy",
        "veth",
        *(
            f"{kind}-{link}"
            for kind in ("host", "macvlan", "ipvlan")
            for link in ("data0", "data1", "port1")
        ),
    }
    data0 = inventory.get("host-data0")
    assert data0 is not None
    assert data0.kind is DeviceKind.HOST_DEVICE
    assert data0.ifname == "data0"
    oracle = ip_json("link", "show", "data0", netns=netns)[0]
    assert data0.attributes["mac"] == oracle["address"]
    assert data0.attributes["mtu"] == oracle["mtu"] == 9000
    macvlan = inventory.get("macvlan-data1")
    assert macvlan is not None
    assert (macvlan.ifname, macvlan.attributes["ifName"]) == ("data1", "data1")
    # up0 carries the default route; its peer counts as stacked on it (IFLA_LINK)
    assert not {"host-up0", "host-up0peer", "host-pod0"} & names
    assert inventory.refresh() is False


def test_watch_sees_new_link(make_netns: Callable[[], str], tmp_path: Path) -> None:
    netns = make_netns()
    inventory = Inventory(sysfs_root=tmp_path, netns=netns, protected=frozenset)
    inventory.refresh()
    changed = threading.Event()
    stop = threading.Event()
    watcher = threading.Thread(
        target=inventory.watch, args=(changed.set, stop), kwargs={"min_interval": 0.2}
    )
    watcher.start()
    try:
        time.sleep(0.3)  # the watch socket is subscribed
        ip("link", "add", "new0", "type", "veth", "peer", "name", "new1", netns=netns)
        started = time.monotonic()
        assert changed.wait(timeout=3.0), "no change reported within 3 s"
        assert time.monotonic() - started < 2.0
        assert inventory.get("host-new0") is not None
    finally:
        stop.set()
        watcher.join(timeout=2.0)
    assert not watcher.is_alive(), "watch did not stop within 2 s"


def test_watch_retries_failed_on_change(make_netns: Callable[[], str], tmp_path: Path) -> None:
    """A failing publish is retried (with backoff) although the inventory no longer changes."""
    netns = make_netns()
    inventory = Inventory(sysfs_root=tmp_path, netns=netns, protected=frozenset)
    calls: list[float] = []
    done = threading.Event()

    def on_change() -> None:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise RuntimeError("API server unavailable")
        done.set()

    stop = threading.Event()
    watcher = threading.Thread(
        target=inventory.watch, args=(on_change, stop), kwargs={"min_interval": 0.1}
    )
    watcher.start()
    try:
        assert done.wait(timeout=5.0), f"on_change called {len(calls)} times"
        assert calls[2] - calls[1] >= calls[1] - calls[0]  # backing off
    finally:
        stop.set()
        watcher.join(timeout=2.0)
    assert not watcher.is_alive()
