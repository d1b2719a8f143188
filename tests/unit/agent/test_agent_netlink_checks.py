"""Name/address validation and the bounded dump retry, without touching the kernel."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pyroute2.netlink.exceptions import NetlinkDumpInterrupted

from netclaim_agent import linknames, netlink, sysctl
from netclaim_agent.errors import DeviceError
from netclaim_agent.opaque import config_for, schema_problems, select_configs

SCHEMA = Path(__file__).parents[3] / "agent/src/netclaim_agent/schema/netclaim-config.schema.json"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("net1", None),
        ("a" * 15, None),
        ("a" * 16, "at most 15 bytes"),
        ("", "empty"),
        (".", "'.' or '..'"),
        ("..", "'.' or '..'"),
        ("a/b", "'/'"),
        ("a:b", "':'"),
        ("a b", "whitespace"),
        ("a\tb", "whitespace"),
        ("a\x00", "control"),
    ],
)
def test_ifname_problem(name: str, problem: str | None) -> None:
    found = linknames.ifname_problem(name)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("mac", "ok"),
    [
        ("02:00:00:00:00:01", True),
        ("02:AB:cd:00:00:01", True),
        ("01:00:5e:00:00:01", False),
        ("00:00:00:00:00:00", False),
        ("02:00:00:00:00", False),
        ("0200.0000.0001", False),
    ],
)
def test_mac_problem(mac: str, ok: bool) -> None:
    assert (linknames.mac_problem(mac) is None) is ok


def test_invalid_names_never_reach_netlink() -> None:
    with pytest.raises(DeviceError, match="at most 15 bytes"):
        netlink.delete_link("x" * 16)
    with pytest.raises(DeviceError, match="'/'"):
        netlink.create_veth("ok", "../etc")


def test_retry_dump_retries_interrupted_dumps_a_bounded_number_of_times() -> None:
    calls = {"n": 0}

    def flaky() -> list[int]:
        calls["n"] += 1
        if calls["n"] < 3:
            raise NetlinkDumpInterrupted()
        return [1, 2]

    assert netlink.retry_dump(flaky) == [1, 2]
    assert calls["n"] == 3

    def always_interrupted() -> list[Any]:
        calls["n"] += 1
        raise NetlinkDumpInterrupted()

    calls["n"] = 0
    with pytest.raises(DeviceError, match="interrupted 5 times"):
        netlink.retry_dump(always_interrupted)
    assert calls["n"] == netlink.DUMP_ATTEMPTS


def test_schema_examples_are_valid_configs() -> None:
    schema = json.loads(SCHEMA.read_text())
    for example in schema["examples"]:
        assert schema_problems(example, "example") == []
        entry = {"source": "FromClaim", "opaque": {"driver": "netclaim.io", "parameters": example}}
        assert config_for("net", select_configs([entry])).interface_name == "net1"


@pytest.mark.parametrize("key", ["ipv4.../../../kernel/x", "ipv4", "net.ipv4.rp_filter", "ipv5.x"])
def test_sysctl_keys_cannot_escape_the_interface_directory(key: str) -> None:
    with pytest.raises(DeviceError, match=re.escape("is not <ipv4|ipv6>")):
        sysctl.write_sysctls("lo", {key: 1}, netns="/nonexistent")
