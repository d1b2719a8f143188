"""Prepare → attach → verify → detach → unprepare with real links in namespaces we create.

Every check of what pyroute2 did is repeated with an independent oracle: `ip -j` run through
`ip netns exec`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agent_testdata import build_fake_sysfs, claim, network_config, opaque
from driver_harness import Harness
from netns_helpers import NETNS_DIR, host_links, in_netns, ip, ip_json

import netclaim_agent
from netclaim_agent import netlink
from netclaim_agent.errors import DeviceError
from netclaim_agent.model import DeviceKind, Injection, InventoryDevice

pytestmark = pytest.mark.netns

POD_CONFIG = network_config(
    name="net1",
    mtu=1400,
    mac="02:00:00:0a:fa:02",
    addresses=["10.250.0.2/24", "fd00:250::2/64"],
    routes=[
        {"to": "10.251.0.0/16", "via": "10.250.0.1"},
        {"to": "10.252.0.0/16", "table": 100},
    ],
    sysctls={"ipv4.rp_filter": 2, "ipv6.accept_ra": 0},
)


def netns_path(name: str) -> str:
    return str(NETNS_DIR / name)


def oracle_link(netns: str, name: str) -> dict[str, Any]:
    [link] = ip_json("addr", "show", "dev", name, netns=netns)
    return dict(link)


def assert_pod_interface(netns: str, name: str = "net1") -> None:
    """The pod side as POD_CONFIG asks, checked with pyroute2 and with `ip -j`."""
    info = netlink.link_info(name, netns_path(netns))
    assert info is not None
    assert (info.mtu, info.mac, info.up) == (1400, "02:00:00:0a:fa:02", True)

    link = oracle_link(netns, name)
    assert link["mtu"] == 1400
    assert link["address"] == "02:00:00:0a:fa:02"
    assert "UP" in link["flags"]
    addresses = {
        f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["scope"] == "global"
    }
    assert addresses == {"10.250.0.2/24", "fd00:250::2/64"}
    main = {r["dst"]: r for r in ip_json("route", "show", netns=netns)}
    assert main["10.251.0.0/16"]["gateway"] == "10.250.0.1"
    assert [r["dst"] for r in ip_json("route", "show", "table", "100", netns=netns)] == [
        "10.252.0.0/16"
    ]
    sysctl = f"/proc/sys/net/ipv4/conf/{name}/rp_filter"
    assert in_netns(netns, "cat", sysctl).strip() == "2"
    assert in_netns(netns, "cat", f"/proc/sys/net/ipv6/conf/{name}/accept_ra").strip() == "0"


UDP_SERVER = (
    "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
    "s.bind((sys.argv[1], 9999)); s.settimeout(8); print(s.recvfrom(64)[0].decode())"
)
UDP_CLIENT = (
    "import socket,sys,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "for _ in range(40):\n"
    "    s.sendto(b'hello from pod 0', (sys.argv[1], 9999)); time.sleep(0.1)"
)


def udp_message(sender: str, receiver: str, address: str) -> str:
    """Send UDP between two pods we created; the datapath oracle for the pod interfaces."""
    server = subprocess.Popen(
        ["ip", "netns", "exec", receiver, sys.executable, "-c", UDP_SERVER, address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        in_netns(sender, sys.executable, "-c", UDP_CLIENT, address)
        out, err = server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=5)
    assert server.returncode == 0, err
    return out.strip()


VETH = InventoryDevice(name="veth", kind=DeviceKind.VETH, slots=8)


def test_veth_nri_lifecycle(
    harness_for: Callable[..., Harness], make_netns: Callable[[], str]
) -> None:
    harness = harness_for(Injection.NRI, {"veth": VETH})
    pod = make_netns()
    before = host_links()

    ref, result = harness.prepare([("net", "veth")], [opaque(POD_CONFIG)])
    assert result.error is None, result.error
    assert result.network[0].hardware_address == "02:00:00:0a:fa:02"
    assert result.network[0].ips == ("10.250.0.2/24", "fd00:250::2/64")
    # Prepare makes the pair (down, temp name) so that the runtime's hook only moves it.
    made = host_links() - before
    assert {n[:2] for n in made} == {"nc", "nt"}, made
    [pod_end] = [n for n in made if n.startswith("nt")]
    assert "UP" not in ip_json("link", "show", "dev", pod_end)[0]["flags"]
    spec = json.loads((harness.cdi_dir / f"netclaim.io-{ref.uid}.json").read_text())
    assert "netDevices" not in json.dumps(spec)

    started = time.monotonic()
    harness.driver.attach_pod("pod-1", netns_path(pod), "pod", "default")
    assert time.monotonic() - started < 2.0, "NRI gives RunPodSandbox 2 s in total"
    assert_pod_interface(pod)
    [host_end] = host_links() - before
    assert host_end.startswith("nc") and len(host_end) <= 15
    assert "UP" in ip_json("link", "show", "dev", host_end)[0]["flags"]

    harness.driver.attach_pod("pod-1", netns_path(pod))  # runtimes retry: must be harmless
    assert_pod_interface(pod)

    # Detach deletes the pair; a sandbox that comes back (or a pair lost after Prepare to a
    # reboot) gets it made again.
    harness.driver.detach_pod("pod-1", netns_path(pod))
    assert host_end not in host_links()
    harness.driver.attach_pod("pod-1", netns_path(pod))
    assert_pod_interface(pod)

    harness.driver.detach_pod("pod-1", netns_path(pod))
    assert netlink.link_info("net1", netns_path(pod)) is None
    assert ip_json("link", "show", netns=pod)[0]["ifname"] == "lo"
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    harness.driver.forget_pod("pod-1")
    assert host_links() == before
    harness.assert_clean()


def test_macvlan_nri_lifecycle(
    harness_for: Callable[..., Harness], make_netns: Callable[[], str], standin_nic: tuple[str, str]
) -> None:
    nic, _ = standin_nic
    device = InventoryDevice(name="macvlan-x", kind=DeviceKind.MACVLAN, ifname=nic, slots=8)
    harness = harness_for(Injection.NRI, {"macvlan-x": device})
    pods = [make_netns(), make_netns()]
    before = host_links()
    refs = []
    for number, pod in enumerate(pods):
        config = network_config(name="net1", addresses=[f"10.250.0.{number + 2}/24"])
        ref, result = harness.prepare([("net", "macvlan-x")], [opaque(config)], pod_uid=pod)
        assert result.error is None, result.error
        harness.driver.attach_pod(pod, netns_path(pod))
        link = oracle_link(pod, "net1")
        assert link["link_type"] == "ether"
        assert link["address"] == result.network[0].hardware_address
        assert [a["local"] for a in link["addr_info"] if a["family"] == "inet"] == [
            f"10.250.0.{number + 2}"
        ]
        refs.append(ref)
    kinds = {p: ip_json("-d", "link", "show", "dev", "net1", netns=p)[0] for p in pods}
    assert all(k["linkinfo"]["info_kind"] == "macvlan" for k in kinds.values())
    assert host_links() == before, "macvlan children live only in the pods"
    assert udp_message(pods[0], pods[1], "10.250.0.3") == "hello from pod 0"

    for pod in pods:
        harness.driver.detach_pod(pod, netns_path(pod))
    assert harness.driver.unprepare(refs) == {r.uid: None for r in refs}
    assert host_links() == before
    harness.assert_clean()


def test_veth_cdi_mode_creates_down_and_runc_can_move_it(
    harness_for: Callable[..., Harness], make_netns: Callable[[], str]
) -> None:
    harness = harness_for(Injection.CDI, {"veth": VETH})
    pod = make_netns()
    before = host_links()
    config = network_config(
        name="net1", mtu=1400, mac="02:00:00:0a:fa:02", addresses=["10.250.0.2/24"]
    )
    ref, result = harness.prepare([("net", "veth")], [opaque(config)])
    assert result.error is None, result.error
    net_spec = json.loads((harness.cdi_dir / f"netclaim.io-{ref.uid}-net.json").read_text())
    [net_device] = net_spec["devices"][0]["containerEdits"]["netDevices"]
    temp = net_device["hostInterfaceName"]
    assert net_device["name"] == "net1"
    assert f"netclaim.io/net={net_spec['devices'][0]['name']}" in result.devices[0].cdi_device_ids

    [link] = ip_json("addr", "show", "dev", temp)
    assert (link["mtu"], link["address"]) == (1400, "02:00:00:0a:fa:02")
    assert "UP" not in link["flags"]
    assert [a["local"] for a in link["addr_info"]] == ["10.250.0.2"]
    assert len(host_links() - before) == 2  # the temp pod end and the host end

    # What runc >= 1.4 does at container creation: move and rename in one request.
    netlink.move_link(temp, to_netns=netns_path(pod), new_name="net1", from_netns=None)
    assert oracle_link(pod, "net1")["address"] == "02:00:00:0a:fa:02"
    harness.driver.attach_pod("pod-1", netns_path(pod))  # NRI hook is a no-op in CDI mode
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    assert host_links() == before
    assert ip_json("link", "show", netns=pod)[0]["ifname"] == "lo"
    harness.assert_clean()


def test_cdi_mode_unprepare_before_any_container(harness_for: Callable[..., Harness]) -> None:
    harness = harness_for(Injection.CDI, {"veth": VETH})
    before = host_links()
    ref, result = harness.prepare([("a", "veth"), ("b", "veth")], [])
    assert result.error is None, result.error
    assert len(host_links() - before) == 4
    assert harness.driver.prepare([ref])[ref.uid] == result
    assert len(host_links() - before) == 4, "a repeated Prepare must not create more links"
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    assert host_links() == before
    harness.assert_clean()


def test_host_device_goes_back_with_name_and_mtu(
    harness_for: Callable[..., Harness], make_netns: Callable[[], str], standin_nic: tuple[str, str]
) -> None:
    nic, _ = standin_nic
    mac = ip_json("link", "show", "dev", nic)[0]["address"]
    device = InventoryDevice(name="nic0", kind=DeviceKind.HOST_DEVICE, ifname=nic)
    harness = harness_for(Injection.NRI, {"nic0": device})
    pod = make_netns()
    ref, result = harness.prepare([("net", "nic0")], [opaque(POD_CONFIG)])
    assert result.error is None, result.error
    harness.driver.attach_pod("pod-1", netns_path(pod))
    assert_pod_interface(pod)
    assert netlink.link_info(nic) is None

    harness.driver.detach_pod("pod-1", netns_path(pod))
    [home] = ip_json("addr", "show", "dev", nic)
    assert (home["mtu"], home["address"]) == (1496, mac)
    assert [a for a in home["addr_info"] if a["scope"] == "global"] == []
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    harness.assert_clean()


def test_host_device_the_kernel_returned_under_its_pod_name_is_renamed_at_unprepare(
    harness_for: Callable[..., Harness], make_netns: Callable[[], str], standin_nic: tuple[str, str]
) -> None:
    """No StopPodSandbox came (containerd 2.2 sends none for sandboxes older than its last
    restart); the netns died and the kernel put the physical NIC back in the host netns still
    named as in the pod. Unprepare finds it by MAC and restores it. (A veth stand-in would die
    with the netns, so the test moves it out by hand, as the kernel does with a real NIC.)"""
    nic, _ = standin_nic
    mac = ip_json("link", "show", "dev", nic)[0]["address"]
    device = InventoryDevice(name="nic0", kind=DeviceKind.HOST_DEVICE, ifname=nic)
    harness = harness_for(Injection.NRI, {"nic0": device})
    pod = make_netns()
    ref, result = harness.prepare([("net", "nic0")], [opaque(POD_CONFIG)])
    assert result.error is None, result.error
    harness.driver.attach_pod("pod-1", netns_path(pod))
    ip("link", "set", "net1", "netns", str(os.getpid()), netns=pod)  # our (host) netns
    ip("netns", "del", pod)
    assert netlink.link_info(nic) is None and netlink.link_info("net1") is not None

    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    [home] = ip_json("addr", "show", "dev", nic)
    assert (home["mtu"], home["address"]) == (1496, mac)
    assert [a for a in home["addr_info"] if a["scope"] == "global"] == []
    assert netlink.link_info("net1") is None
    harness.assert_clean()


def test_sriov_vf_standin_with_fake_sysfs(
    harness_for: Callable[..., Harness],
    make_netns: Callable[[], str],
    standin_nic: tuple[str, str],
    tmp_path: Path,
) -> None:
    nic, _ = standin_nic
    sysfs = build_fake_sysfs(tmp_path / "sys")
    vf = InventoryDevice(
        name="vf-1", kind=DeviceKind.SRIOV_VF, ifname=nic, pci_address="0000:03:00.2"
    )
    harness = harness_for(Injection.NRI, {"vf-1": vf}, sysfs)
    pod = make_netns()

    # VF settings need the PF, which this machine does not have: the claim fails cleanly.
    bad_ref, bad = harness.prepare([("net", "vf-1")], [opaque(network_config(device={"vlan": 7}))])
    assert bad.error is not None
    assert "physical function 'nctestpf0' not found" in bad.error
    assert harness.checkpoint() == {}

    ref, result = harness.prepare([("net", "vf-1")], [opaque(network_config(name="vf0"))])
    assert result.error is None, result.error
    harness.driver.attach_pod("pod-1", netns_path(pod))
    assert "UP" in oracle_link(pod, "vf0")["flags"]
    harness.driver.detach_pod("pod-1", netns_path(pod))
    assert ip_json("link", "show", "dev", nic)[0]["mtu"] == 1496
    assert harness.driver.unprepare([ref, bad_ref]) == {ref.uid: None, bad_ref.uid: None}
    harness.assert_clean()


def test_roce_moves_netdev_and_hands_out_char_devices(
    harness_for: Callable[..., Harness],
    make_netns: Callable[[], str],
    standin_nic: tuple[str, str],
    tmp_path: Path,
) -> None:
    nic, _ = standin_nic
    sysfs = build_fake_sysfs(tmp_path / "sys")
    roce = InventoryDevice(name="roce-0", kind=DeviceKind.ROCE, ifname=nic, rdma_device="mlx5_0")
    harness = harness_for(Injection.NRI, {"roce-0": roce}, sysfs)
    pod = make_netns()
    ref, result = harness.prepare([("net", "roce-0")], [])
    assert result.error is None, result.error
    spec = json.loads((harness.cdi_dir / f"netclaim.io-{ref.uid}.json").read_text())
    paths = [n["path"] for n in spec["devices"][0]["containerEdits"]["deviceNodes"]]
    assert paths == ["/dev/infiniband/uverbs0", "/dev/infiniband/rdma_cm"]
    harness.driver.attach_pod("pod-1", netns_path(pod))
    assert netlink.link_info("net1", netns_path(pod)) is not None
    harness.driver.detach_pod("pod-1", netns_path(pod))
    assert netlink.link_info(nic) is not None
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    harness.assert_clean()


@pytest.mark.parametrize(
    ("kind", "device"),
    [
        (DeviceKind.DUMMY, InventoryDevice(name="dummy", kind=DeviceKind.DUMMY, slots=4)),
        (DeviceKind.IPVLAN, None),
    ],
    ids=["dummy", "ipvlan"],
)
def test_kinds_needing_kernel_modules(
    harness_for: Callable[..., Harness],
    make_netns: Callable[[], str],
    standin_nic: tuple[str, str],
    kind: DeviceKind,
    device: InventoryDevice | None,
) -> None:
    nic, _ = standin_nic
    device = device or InventoryDevice(name="ipvlan", kind=kind, ifname=nic, slots=4)
    harness = harness_for(Injection.NRI, {device.name: device})
    pod = make_netns()
    ref, result = harness.prepare(
        [("net", device.name)], [opaque(network_config(addresses=["10.250.0.2/24"]))]
    )
    # Prepare creates the link, so a missing module fails the claim there, before any pod.
    if result.error and f"kernel module '{kind}' is not available" in result.error:
        harness.assert_clean()
        pytest.skip(f"kernel module {kind.value!r} is not available in this kernel: {result.error}")
    assert result.error is None, result.error
    harness.driver.attach_pod("pod-1", netns_path(pod))
    assert "UP" in oracle_link(pod, "net1")["flags"]
    harness.driver.detach_pod("pod-1", netns_path(pod))
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    harness.assert_clean()


CRASHING_PREPARE = textwrap.dedent(
    """
    import json, os, sys
    from netclaim_agent import cdi
    from netclaim_agent.driver import Driver
    from netclaim_agent.model import ClaimRef, DeviceKind, Injection, InventoryDevice

    state_dir, cdi_dir, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    meta = body["metadata"]
    ref = ClaimRef(meta["namespace"], meta["name"], meta["uid"])
    veth = InventoryDevice(name="veth", kind=DeviceKind.VETH, slots=4)
    def crash(*args, **kwargs):
        os._exit(9)  # killed after the links exist, before the CDI spec and phase=prepared
    cdi.write_claim_specs = crash
    driver = Driver(node_name="n", fetch_claim=lambda r: body, inventory={"veth": veth}.get,
                    state_dir=__import__("pathlib").Path(state_dir),
                    cdi_dir=__import__("pathlib").Path(cdi_dir), injection=Injection.CDI)
    driver.prepare([ref])
    """
)


def test_crash_in_the_middle_then_reconcile_leaves_nothing(
    harness_for: Callable[..., Harness],
) -> None:
    harness = harness_for(Injection.CDI, {"veth": VETH})
    before = host_links()
    ref, body = claim([("a", "veth"), ("b", "veth")], [])
    stray_spec = harness.cdi_dir / "netclaim.io-00000000-dead.json"
    stray_spec.parent.mkdir(parents=True, exist_ok=True)
    stray_spec.write_text("{}")

    source_root = str(Path(netclaim_agent.__file__).parents[1])
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASHING_PREPARE,
            str(harness.state_dir),
            str(harness.cdi_dir),
            json.dumps(body),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": source_root},
    )
    assert done.returncode == 9, done.stderr
    assert harness.checkpoint()[ref.uid]["phase"] == "preparing"
    assert len(host_links() - before) == 4, "the crash left both veth pairs behind"

    harness.restart().reconcile()
    assert host_links() == before
    harness.assert_clean()
    harness.api[ref.uid] = body
    retried = harness.driver.prepare([ref])[ref.uid]
    assert retried.error is None, retried.error
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    assert host_links() == before


def test_default_route_interface_is_protected() -> None:
    uplinks = {route["dev"] for route in ip_json("route", "show", "default")}
    assert uplinks
    assert uplinks <= netlink.protected_ifnames()
    assert all(map(netlink.is_protected, uplinks))
    assert not netlink.is_protected("lo")
    for name in uplinks:
        # Removing no addresses would change nothing even if the guard were broken.
        with pytest.raises(DeviceError, match="default route"):
            netlink.remove_addresses(name, [])


def test_two_claims_one_pod_get_distinct_interfaces(
    harness_for: Callable[..., Harness], make_netns: Callable[[], str], standin_nic: tuple[str, str]
) -> None:
    nic, _ = standin_nic
    macvlan = InventoryDevice(name="macvlan-x", kind=DeviceKind.MACVLAN, ifname=nic, slots=8)
    harness = harness_for(Injection.NRI, {"veth": VETH, "macvlan-x": macvlan})
    pod = make_netns()
    before = host_links()
    first, first_result = harness.prepare([("a", "veth")], [], pod_uid=pod)
    second, second_result = harness.prepare([("b", "macvlan-x")], [], pod_uid=pod)
    assert first_result.network[0].interface_name == "net1"
    assert second_result.network[0].interface_name == "net2"

    harness.driver.attach_pod(pod, netns_path(pod))
    links = {link["ifname"]: link for link in ip_json("-d", "link", "show", netns=pod)}
    assert links["net1"]["linkinfo"]["info_kind"] == "veth"
    assert links["net2"]["linkinfo"]["info_kind"] == "macvlan"
    assert links["net1"]["address"] == first_result.network[0].hardware_address
    assert links["net2"]["address"] == second_result.network[0].hardware_address

    harness.driver.detach_pod(pod, netns_path(pod))
    assert [link["ifname"] for link in ip_json("link", "show", netns=pod)] == ["lo"]
    assert harness.driver.unprepare([first, second]) == {first.uid: None, second.uid: None}
    assert host_links() == before
    harness.assert_clean()


def test_macvlan_cdi_mode_prepare_and_unprepare(
    harness_for: Callable[..., Harness], standin_nic: tuple[str, str]
) -> None:
    nic, _ = standin_nic
    macvlan = InventoryDevice(name="macvlan-x", kind=DeviceKind.MACVLAN, ifname=nic, slots=8)
    harness = harness_for(Injection.CDI, {"macvlan-x": macvlan})
    before = host_links()
    config = network_config(name="net1", mtu=1400, addresses=["10.250.0.2/24"])
    ref, result = harness.prepare([("net", "macvlan-x")], [opaque(config)])
    assert result.error is None, result.error
    [temp] = host_links() - before
    [link] = ip_json("-d", "addr", "show", "dev", temp)
    assert link["linkinfo"]["info_kind"] == "macvlan"
    assert link["linkinfo"]["info_data"]["mode"] == "bridge"
    assert (link["mtu"], link["address"]) == (1400, result.network[0].hardware_address)
    assert "UP" not in link["flags"]
    assert [a["local"] for a in link["addr_info"]] == ["10.250.0.2"]
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    assert host_links() == before
    harness.assert_clean()


def test_cdi_prepare_of_kind_without_kernel_module_fails_only_that_claim(
    harness_for: Callable[..., Harness],
) -> None:
    dummy = InventoryDevice(name="dummy", kind=DeviceKind.DUMMY, slots=4)
    harness = harness_for(Injection.CDI, {"dummy": dummy, "veth": VETH})
    before = host_links()
    ref, body = claim([("ok", "veth"), ("bad", "dummy")], [])
    harness.api[ref.uid] = body
    result = harness.driver.prepare([ref])[ref.uid]
    if result.error is None:
        assert harness.driver.unprepare([ref]) == {ref.uid: None}
        pytest.skip("this kernel has the dummy module: nothing to fail")
    assert "kernel module 'dummy' is not available" in result.error
    assert host_links() == before, "the veth created before the failure was rolled back"
    harness.assert_clean()
