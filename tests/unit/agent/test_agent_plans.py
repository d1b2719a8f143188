"""Pure planning per kind, sysfs lookups on fake trees, and the Driver's bookkeeping."""

from __future__ import annotations

import ast
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from agent_testdata import claim, network_config, opaque

from netclaim_agent.claims import read_claim
from netclaim_agent.devices import DevicePlan, HostProbe, handler_for, registered_kinds
from netclaim_agent.devices.sysfs import rdma_char_devices, vf_location
from netclaim_agent.errors import DeviceError
from netclaim_agent.model import DeviceKind, Injection, InventoryDevice
from netclaim_agent.netlink import LinkInfo
from netclaim_agent.planning import ClaimPlan, plan_claim, resolve

DEVICES_DIR = Path(__file__).parents[3] / "agent/src/netclaim_agent/devices"


def plan_for(
    device: InventoryDevice,
    config: dict[str, Any] | None = None,
    injection: Injection = Injection.NRI,
    probe: HostProbe | None = None,
) -> tuple[ClaimPlan, str]:
    ref, body = claim([("net", device.name)], [opaque(config)] if config else [], uid="uid-1")
    allocation = read_claim(body, ref)
    resolved = resolve(allocation, {device.name: device}.get, probe or HostProbe())
    return plan_claim(allocation, resolved, injection), ref.uid


def test_every_kind_has_a_handler_and_no_kind_switch() -> None:
    assert registered_kinds() == frozenset(DeviceKind)
    for module in DEVICES_DIR.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare) and any(
                isinstance(c, ast.Attribute) and c.attr in {m.name for m in DeviceKind}
                for c in node.comparators
            ):
                pytest.fail(f"{module.name}: compares against a DeviceKind member")


def test_veth_plan_is_deterministic_and_names_fit() -> None:
    veth = InventoryDevice(name="veth", kind=DeviceKind.VETH, slots=4)
    first, _ = plan_for(veth, network_config(addresses=["10.0.0.2/24"]))
    second, _ = plan_for(veth, network_config(addresses=["10.0.0.2/24"]))
    assert first == second
    plan = first.devices[0]
    assert plan.interface_name == "net1"
    assert plan.peer_name and plan.peer_name.startswith("nc") and len(plan.peer_name) <= 15
    assert plan.host_name and plan.host_name.startswith("nt") and len(plan.host_name) <= 15
    assert plan.mac and plan.mac.startswith("02:")
    assert DevicePlan.from_record(json.loads(json.dumps(plan.to_record()))) == plan


def test_macvlan_plan_takes_parent_from_inventory_and_default_mode() -> None:
    device = InventoryDevice(name="macvlan-eth1", kind=DeviceKind.MACVLAN, ifname="eth1")
    plan = plan_for(device)[0].devices[0]
    assert (plan.parent, plan.mode) == ("eth1", "bridge")


def test_ipvlan_plan_has_no_mac() -> None:
    device = InventoryDevice(name="ipvlan-eth1", kind=DeviceKind.IPVLAN, ifname="eth1")
    plan = plan_for(device, network_config(device={"mode": "l3"}))[0].devices[0]
    assert (plan.mode, plan.mac) == ("l3", None)


def test_rdma_and_roce_char_devices(fake_sysfs: Path) -> None:
    probe = HostProbe(sysfs_root=fake_sysfs)
    rdma = InventoryDevice(name="mlx5-0", kind=DeviceKind.RDMA, rdma_device="mlx5_0")
    plan = plan_for(rdma, network_config(device={"rdma": {"charDevices": ["uverbs"]}}), probe=probe)
    assert [n.path for n in plan[0].devices[0].char_devices] == ["/dev/infiniband/uverbs0"]
    assert plan[0].devices[0].interface_name is None


def test_rdma_missing_sysfs_entry_is_a_claim_error(fake_sysfs: Path) -> None:
    with pytest.raises(DeviceError, match="no uverbs node"):
        rdma_char_devices(fake_sysfs, "mlx5_9", ("uverbs",))


def test_vf_location_from_fake_tree(fake_sysfs: Path) -> None:
    assert vf_location(fake_sysfs, "0000:03:00.2") == ("nctestpf0", 1)
    with pytest.raises(DeviceError, match="not an SR-IOV VF"):
        vf_location(fake_sysfs, "0000:03:00.0")


def test_sriov_plan_carries_vf_settings(fake_sysfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    link = LinkInfo(index=7, name="nctestvf1", mac="02:11:22:33:44:55", mtu=1500, up=False)
    monkeypatch.setattr("netclaim_agent.netlink.link_info", lambda name, netns=None: link)
    vf = InventoryDevice(
        name="vf-1", kind=DeviceKind.SRIOV_VF, ifname="nctestvf1", pci_address="0000:03:00.2"
    )
    config = network_config(device={"vlan": 100, "trust": True, "spoofchk": False})
    plan = plan_for(vf, config, probe=HostProbe(sysfs_root=fake_sysfs))[0].devices[0]
    assert plan.vf is not None
    assert (plan.vf.pf, plan.vf.index, plan.vf.vlan, plan.vf.trust, plan.vf.spoofchk) == (
        "nctestpf0",
        1,
        100,
        True,
        False,
    )
    assert (plan.host_name, plan.original_mtu, plan.mac) == ("nctestvf1", 1500, link.mac)


def test_cdi_mode_plan_uses_temp_name_as_host_interface() -> None:
    veth = InventoryDevice(name="veth", kind=DeviceKind.VETH)
    plan = plan_for(veth, network_config(name="eth9"), injection=Injection.CDI)[0].devices[0]
    device = handler_for(plan.kind).cdi_device(plan)
    assert device.net_devices == ((plan.host_name, "eth9"),)
    assert device.env == ("NETCLAIM_NET_IFNAME=eth9",)


def test_repeated_prepare_returns_stored_answer_without_fetching(make_driver: Any) -> None:
    driver, api = make_driver()
    ref, body = claim([("net", "veth")], [opaque(network_config(addresses=["10.0.0.2/24"]))])
    api[ref.uid] = body
    first = driver.prepare([ref])[ref.uid]
    assert first.error is None
    assert first.network[0].ips == ("10.0.0.2/24",)
    assert first.network[0].interface_name == "net1"
    api.clear()  # a second fetch would now fail
    assert driver.prepare([ref])[ref.uid] == first
    assert driver.unprepare([ref]) == {ref.uid: None}
    assert driver.unprepare([ref]) == {ref.uid: None}


def test_prepared_claims_survive_restart(make_driver: Any, tmp_path: Path) -> None:
    driver, api = make_driver()
    ref, body = claim([("ib", "mlx5-0")])
    api[ref.uid] = body
    first = driver.prepare([ref])[ref.uid]
    restarted, _ = make_driver()
    restarted.reconcile()
    assert restarted.prepare([ref])[ref.uid] == first
    assert (tmp_path / "cdi" / f"netclaim.io-{ref.uid}.json").exists()


def test_reconcile_removes_cdi_files_of_unknown_claims(make_driver: Any, tmp_path: Path) -> None:
    driver, _ = make_driver()
    stray = tmp_path / "cdi" / "netclaim.io-0000-dead.json"
    stray.parent.mkdir(parents=True)
    stray.write_text("{}")
    foreign = tmp_path / "cdi" / "vendor.example-x.json"
    foreign.write_text("{}")
    driver.reconcile()
    assert not stray.exists()
    assert foreign.exists()


def test_parallel_prepare_calls(make_driver: Any) -> None:
    driver, api = make_driver()
    refs = []
    for _ in range(8):
        ref, body = claim([("ib", "mlx5-0")])
        api[ref.uid] = body
        refs.append(ref)
    answers: dict[str, Any] = {}

    def run(batch: list[Any]) -> None:
        answers.update(driver.prepare(batch))

    threads = [threading.Thread(target=run, args=(refs[i::2],)) for i in range(2)]
    threads += [threading.Thread(target=run, args=(refs,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(answers[r.uid].error is None for r in refs)
    assert driver.unprepare(refs) == {r.uid: None for r in refs}


def test_attach_refuses_paths_outside_netns_dir(make_driver: Any) -> None:
    driver, api = make_driver()
    ref, body = claim([("net", "veth")], pod_uid="pod-1")
    api[ref.uid] = body
    assert driver.prepare([ref])[ref.uid].error is None
    with pytest.raises(DeviceError, match="not under"):
        driver.attach_pod("pod-1", "/proc/1/ns/net")
    with pytest.raises(DeviceError, match="not under"):
        driver.attach_pod("pod-1", "relative/ns")


def test_attach_for_unknown_pod_does_nothing(make_driver: Any, tmp_path: Path) -> None:
    driver, _ = make_driver()
    netns = tmp_path / "netns" / "pod"
    netns.parent.mkdir()
    netns.write_text("")
    driver.attach_pod("nobody", str(netns))
    # Not even a netns check: a stopped sandbox (its netns gone) is re-listed by Synchronize.
    driver.attach_pod("nobody", "/var/run/netns/gone-long-ago")
    driver.detach_pod("nobody", str(netns))
    driver.forget_pod("nobody")


def test_claims_of_one_pod_get_distinct_default_names(make_driver: Any) -> None:
    driver, api = make_driver()
    first_ref, first = claim([("a", "veth")], name="first", pod_uid="pod-7")
    second_ref, second = claim([("b", "veth"), ("c", "veth")], name="second", pod_uid="pod-7")
    other_ref, other = claim([("d", "veth")], name="other", pod_uid="pod-8")
    api.update({first_ref.uid: first, second_ref.uid: second, other_ref.uid: other})
    answers = driver.prepare([first_ref, second_ref, other_ref])
    names = {uid: [n.interface_name for n in a.network] for uid, a in answers.items()}
    assert names == {
        first_ref.uid: ["net1"],
        second_ref.uid: ["net2", "net3"],
        other_ref.uid: ["net1"],
    }


def test_explicit_name_taken_by_another_claim_of_the_pod(make_driver: Any) -> None:
    driver, api = make_driver()
    first_ref, first = claim([("a", "veth")], name="first", pod_uid="pod-7")
    second_ref, second = claim(
        [("b", "veth")], [opaque(network_config(name="net1"))], name="second", pod_uid="pod-7"
    )
    api.update({first_ref.uid: first, second_ref.uid: second})
    answers = driver.prepare([first_ref, second_ref])
    assert answers[first_ref.uid].error is None
    error = answers[second_ref.uid].error
    assert error is not None
    assert f"interface.name 'net1' is also used by claim default/first ({first_ref.uid})" in error


def test_mptcp_endpoints_get_the_interface_addresses_and_survive_the_checkpoint() -> None:
    document = {
        **network_config(addresses=["10.0.0.2/24", "fd00::2/64", "fd00::3/64"]),
        "mptcp": {
            "limits": {"subflows": 2},
            "endpoints": [{"flags": ["subflow"]}],
        },
    }
    veth = InventoryDevice(name="veth", kind=DeviceKind.VETH, slots=4)
    [plan] = plan_for(veth, document)[0].devices
    assert plan.mptcp is not None
    assert plan.mptcp.subflows == 2
    assert [(e.address, e.flags) for e in plan.mptcp.endpoints] == [
        ("10.0.0.2", ("subflow",)),
        ("fd00::2", ("subflow",)),
        ("fd00::3", ("subflow",)),
    ]
    assert DevicePlan.from_record(plan.to_record()) == plan


def test_a_floating_ip_still_held_by_a_pod_on_another_node_is_not_prepared(
    make_driver: Any,
) -> None:
    driver, api = make_driver(pod_nodes={"old": "node-b", "pod": "node-a"})
    fip = {
        "request": "fip",
        "driver": "netclaim.io",
        "pool": "floating-ip/a",
        "device": "fip-198-51-100-7",
    }
    ref, body = claim([], extra_results=[fip])
    body["status"]["reservedFor"].insert(0, {"resource": "pods", "name": "old", "uid": "u-old"})
    api[ref.uid] = body
    answer = driver.prepare([ref])[ref.uid]
    assert answer.error is not None
    assert "198.51.100.7 is still held by pod default/old on node node-b" in answer.error
    assert driver.prepared_claims() == []
