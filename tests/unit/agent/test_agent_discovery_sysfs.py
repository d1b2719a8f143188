"""Discovery from fake sysfs trees: PCI attributes, SR-IOV VFs, RDMA, RoCE, IPoIB, names."""

from __future__ import annotations

from pathlib import Path

import pytest

from netclaim_agent.discovery import device_name, discover
from netclaim_agent.discovery.netdevs import Link
from netclaim_agent.model import DeviceKind, InventoryDevice

ROOT_PORT = "pci0000:00/0000:00:02.0"


def pci_function(sysfs: Path, address: str, numa: int = 0) -> Path:
    path = sysfs / "devices" / ROOT_PORT / address
    path.mkdir(parents=True)
    (path / "numa_node").write_text(f"{numa}\n")
    return path


def netdev(
    sysfs: Path, ifname: str, pci: Path | None, link_type: int = 1, mac: str = "02:00:00:00:00:01"
) -> Path:
    path = (pci / "net" if pci else sysfs / "devices/virtual/net") / ifname
    path.mkdir(parents=True)
    (path / "type").write_text(f"{link_type}\n")
    (path / "mtu").write_text("1500\n")
    (path / "address").write_text(mac + "\n")
    if pci is not None:
        (path / "device").symlink_to(pci)
    (sysfs / "class/net").mkdir(parents=True, exist_ok=True)
    (sysfs / "class/net" / ifname).symlink_to(path)
    return path


def rdma(sysfs: Path, name: str, pci: Path | None, ndevs: tuple[str, ...] = ()) -> None:
    path = sysfs / "devices/virtual/infiniband" / name
    path.mkdir(parents=True)
    if pci is not None:
        (path / "device").symlink_to(pci)
    gids = path / "ports/1/gid_attrs/ndevs"
    gids.mkdir(parents=True)
    for i, ndev in enumerate(ndevs):
        (gids / str(i)).write_text(ndev + "\n")
    (sysfs / "class/infiniband").mkdir(parents=True, exist_ok=True)
    (sysfs / "class/infiniband" / name).symlink_to(path)


def link(index: int, name: str, link_type: int = 1, **kw: object) -> Link:
    fields: dict[str, object] = {
        "kind": None,
        "mac": f"02:00:00:00:00:{index:02x}",
        "mtu": 1500,
        "master": None,
        "loopback": False,
    }
    fields.update(kw)
    return Link(index=index, name=name, link_type=link_type, **fields)  # type: ignore[arg-type]


@pytest.fixture
def sysfs(tmp_path: Path) -> Path:
    """A PF with SR-IOV (two VFs, one bound to vfio), a RoCE NIC and an IPoIB port."""
    root = tmp_path / "sys"
    pf = pci_function(root, "0000:03:00.0", numa=1)
    (pf / "sriov_totalvfs").write_text("8\n")
    netdev(root, "enp3s0f0", pf)
    for index in range(2):
        vf = pci_function(root, f"0000:03:00.{index + 2}", numa=1)
        (vf / "physfn").symlink_to(pf)
        (pf / f"virtfn{index}").symlink_to(vf)
    netdev(root, "enp3s0f0v0", root / "devices" / ROOT_PORT / "0000:03:00.2")
    roce_pci = pci_function(root, "0000:04:00.0", numa=-1)
    netdev(root, "enp4s0", roce_pci)
    rdma(root, "mlx5_0", roce_pci)
    ib_pci = pci_function(root, "0000:05:00.0")
    netdev(root, "ib0", ib_pci, link_type=32, mac="80:00:00:48:fe:80:" + "00:" * 13 + "01")
    rdma(root, "mlx5_1", ib_pci)
    rdma(root, "rxe0", None, ndevs=("eth9",))
    return root


LINKS = [
    link(1, "lo", link_type=772, loopback=True),
    link(2, "eth0"),
    link(3, "enp3s0f0"),
    link(4, "enp3s0f0v0"),
    link(5, "enp4s0"),
    link(6, "ib0", link_type=32),
    link(7, "eth9"),
    link(8, "br0", kind="bridge"),
    link(9, "eth5", master=8),
    link(10, "nc1a2b3c"),
    link(11, "veth1234"),
    link(12, "flannel.1", kind="vxlan"),
    link(13, "kube-ipvs0", kind="dummy"),
    link(14, "cali0123", kind="veth", peer_elsewhere=True),
    link(15, "bond0", kind="bond"),
    link(16, "eth2.100", kind="vlan"),
]


def by_name(devices: tuple[InventoryDevice, ...]) -> dict[str, InventoryDevice]:
    return {d.name: d for d in devices}


def test_netdevs_and_exclusions(sysfs: Path) -> None:
    found = by_name(discover(LINKS, frozenset({"eth0"}), sysfs, 16))
    assert set(found) == {
        "dummy",
        "veth",
        "host-enp3s0f0",
        "macvlan-enp3s0f0",
        "ipvlan-enp3s0f0",
        "host-enp4s0",
        "macvlan-enp4s0",
        "ipvlan-enp4s0",
        "host-eth9",
        "macvlan-eth9",
        "ipvlan-eth9",
        "host-eth2-100",
        "macvlan-eth2-100",
        "ipvlan-eth2-100",
        "vf-0000-03-00-2",
        "rdma-mlx5-0",
        "roce-mlx5-0",
        "rdma-mlx5-1",
        "rdma-rxe0",
        "roce-rxe0",
        "ipoib-ib0",
    }
    pf = found["host-enp3s0f0"]
    assert pf.ifname == "enp3s0f0"
    assert pf.pci_address == "0000:03:00.0"
    assert pf.attributes == {
        "kind": "host-device",
        "virtual": False,
        "ifName": "enp3s0f0",
        "mac": "02:00:00:00:00:03",
        "mtu": 1500,
        "pciAddress": "0000:03:00.0",
        "numaNode": 1,
        "resource.kubernetes.io/pciBusID": "0000:03:00.0",
        "resource.kubernetes.io/pcieRoot": "pci0000:00",
    }
    macvlan = found["macvlan-enp3s0f0"]
    assert (macvlan.kind, macvlan.ifname, macvlan.slots) == (DeviceKind.MACVLAN, "enp3s0f0", 16)
    assert macvlan.attributes["ifName"] == "enp3s0f0"
    assert macvlan.attributes["virtual"] is True
    assert found["veth"].slots == found["dummy"].slots == 16
    assert "numaNode" not in found["host-enp4s0"].attributes  # numa_node -1: unknown


def test_sriov_vf(sysfs: Path) -> None:
    vf = by_name(discover(LINKS, frozenset(), sysfs, 16))["vf-0000-03-00-2"]
    assert vf.kind is DeviceKind.SRIOV_VF
    assert (vf.ifname, vf.pci_address) == ("enp3s0f0v0", "0000:03:00.2")
    assert vf.attributes["pfName"] == "enp3s0f0"
    assert vf.attributes["vfIndex"] == 0
    assert vf.attributes["pciAddress"] == "0000:03:00.2"
    assert vf.attributes["resource.kubernetes.io/pcieRoot"] == "pci0000:00"


def test_rdma_roce_ipoib(sysfs: Path) -> None:
    found = by_name(discover(LINKS, frozenset(), sysfs, 16))
    mlx = found["rdma-mlx5-0"]
    assert (mlx.kind, mlx.rdma_device, mlx.pci_address) == (
        DeviceKind.RDMA,
        "mlx5_0",
        "0000:04:00.0",
    )
    assert mlx.attributes["rdmaDevice"] == "mlx5_0"
    roce = found["roce-mlx5-0"]
    assert (roce.kind, roce.ifname, roce.rdma_device) == (DeviceKind.ROCE, "enp4s0", "mlx5_0")
    assert roce.attributes["ifName"] == "enp4s0"
    assert found["roce-rxe0"].ifname == "eth9"  # found through gid_attrs/ndevs
    assert "roce-mlx5-1" not in found  # its netdev is IPoIB
    ipoib = found["ipoib-ib0"]
    assert (ipoib.kind, ipoib.ifname, ipoib.pci_address) == (
        DeviceKind.IPOIB,
        "ib0",
        "0000:05:00.0",
    )
    assert len(str(ipoib.attributes["mac"])) == 59


def test_protected_netdevs_never_offered(sysfs: Path) -> None:
    protected = frozenset({"enp4s0", "ib0", "enp3s0f0v0"})
    found = by_name(discover(LINKS, protected, sysfs, 16))
    assert not any(d.ifname in protected for d in found.values())
    assert "rdma-mlx5-0" in found  # the RDMA device itself stays


def test_empty_sysfs(tmp_path: Path) -> None:
    found = discover([link(2, "eth1")], frozenset(), tmp_path, 4)
    assert [d.name for d in found] == ["dummy", "host-eth1", "ipvlan-eth1", "macvlan-eth1", "veth"]
    assert "pciAddress" not in found[1].attributes


@pytest.mark.parametrize(
    ("prefix", "ident", "expected"),
    [
        ("host", "eth0", "host-eth0"),
        ("host", "Eth_1.100", "host-eth-1-100"),
        ("vf", "0000:03:00.2", "vf-0000-03-00-2"),
    ],
)
def test_device_names(prefix: str, ident: str, expected: str) -> None:
    assert device_name(prefix, ident) == expected


def test_invalid_label_hashed() -> None:
    name = device_name("host", "eth0_")
    assert name.startswith("host-")
    assert name != "host-eth0-"
    assert len(name) == len("host-") + 10


def test_colliding_names_made_unique(tmp_path: Path) -> None:
    found = discover([link(2, "eth_1"), link(3, "eth.1")], frozenset(), tmp_path, 4)
    names = [d.name for d in found]
    assert len(names) == len(set(names)) == 8
    assert "host-eth-1" not in names


def test_virtio_nic_reports_its_pci_function(tmp_path: Path) -> None:
    root = tmp_path / "sys"
    virtio = pci_function(root, "0000:00:03.0") / "virtio2"
    virtio.mkdir()
    netdev(root, "ens3", virtio)
    (host,) = (
        d for d in discover([link(2, "ens3")], frozenset(), root, 4) if d.name == "host-ens3"
    )
    assert host.pci_address == "0000:00:03.0"
    assert host.attributes["resource.kubernetes.io/pcieRoot"] == "pci0000:00"
