"""The handler contract, the registry and the plain records handlers exchange.

A handler turns (allocated device, inventory record, merged config, host facts) into a
`DevicePlan` without side effects, then carries out that plan at the right moments: `prepare`
(NodePrepareResources), `attach`/`detach` (NRI sandbox hooks), `release` (Unprepare, reconcile).
Plans are plain, JSON-able records: they are what the checkpoint stores.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from netclaim_agent import mptcp, netlink, sysctl
from netclaim_agent.cdi import CdiDevice, DeviceNode, env_name
from netclaim_agent.claims import AllocatedDevice
from netclaim_agent.errors import ConfigError, DeviceError
from netclaim_agent.model import DeviceKind, Injection, InventoryDevice, MptcpSettings
from netclaim_agent.netlink import LinkInfo, RouteSpec
from netclaim_agent.opaque import DeviceConfig


@dataclass(frozen=True)
class VfPlan:
    """Where a VF's settings are applied: its PF and index, plus the settings."""

    pf: str
    index: int
    vlan: int | None = None
    trust: bool | None = None
    spoofchk: bool | None = None


@dataclass(frozen=True)
class DevicePlan:
    """Everything needed to create, attach, detach and remove one prepared device."""

    claim_uid: str
    index: int
    request: str
    pool: str
    device: str
    kind: DeviceKind
    injection: Injection
    cdi_name: str
    share_id: str | None = None
    interface_name: str | None = None
    """Name inside the pod; None for kinds without a netdev (rdma)."""
    host_name: str | None = None
    """Name in the host netns before the move: a temp name (virtual) or the real netdev."""
    peer_name: str | None = None
    """veth only: the end that stays in the host netns."""
    parent: str | None = None
    mode: str | None = None
    mtu: int | None = None
    mac: str | None = None
    addresses: tuple[str, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    sysctls: tuple[tuple[str, int], ...] = ()
    original_mtu: int | None = None
    original_mac: str | None = None
    vf: VfPlan | None = None
    char_devices: tuple[DeviceNode, ...] = ()
    rdma_device: str | None = None
    mptcp: MptcpSettings | None = None
    announce_on: tuple[str, ...] = ()
    """floating-ip with gratuitous-ARP announce: the node links it is announced on."""

    def to_record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> DevicePlan:
        data = dict(record)
        data["kind"] = DeviceKind(data["kind"])
        data["injection"] = Injection(data["injection"])
        data["addresses"] = tuple(data.get("addresses", ()))
        data["routes"] = tuple(RouteSpec(**r) for r in data.get("routes", ()))
        data["sysctls"] = tuple((str(k), int(v)) for k, v in data.get("sysctls", ()))
        data["mptcp"] = MptcpSettings.from_record(data["mptcp"]) if data.get("mptcp") else None
        data["vf"] = VfPlan(**data["vf"]) if data.get("vf") else None
        data["char_devices"] = tuple(DeviceNode(**n) for n in data.get("char_devices", ()))
        data["announce_on"] = tuple(data.get("announce_on", ()))
        return cls(**data)


@dataclass(frozen=True)
class HostFacts:
    """What a handler read from the host before planning (the plan itself reads nothing)."""

    protected: frozenset[str] = frozenset()
    """Default-route interface and its children: never a parent or a host device."""
    link: LinkInfo | None = None
    vf: tuple[str, int] | None = None
    char_devices: tuple[DeviceNode, ...] = ()
    uplinks: tuple[str, ...] = ()
    """The node's default-route links (read only for kinds that announce on them)."""
    sysctls_off: tuple[str, ...] = ()
    """Node sysctls the device needs on (read only for kinds that need some)."""


@dataclass(frozen=True)
class HostProbe:
    """Read-only access to the host for `gather`; sysfs root is configurable for tests."""

    sysfs_root: Path = Path("/sys")
    is_protected: Callable[[str], bool] = lambda _name: False
    """Default-route interface or stacked on it (checked per name: a full link dump would
    grow with the number of pods on the node)."""

    uplinks: Callable[[], tuple[str, ...]] = lambda: ()
    """The default-route links by name (gratuitous-ARP announce goes out on them)."""
    sysctl_enabled: Callable[[str], bool] = lambda _path: True
    """Is a node sysctl (a path under /proc/sys) set to 1?"""

    def protected_among(self, *names: str | None) -> frozenset[str]:
        return frozenset(n for n in names if n and self.is_protected(n))


@dataclass(frozen=True)
class PlanInput:
    claim_uid: str
    index: int
    result: AllocatedDevice
    device: InventoryDevice
    config: DeviceConfig
    facts: HostFacts
    injection: Injection
    default_name: str = "net1"
    """Interface name when the config sets none (unique among the pod's claims)."""


_REGISTRY: dict[DeviceKind, type[DeviceHandler]] = {}


def handler_for(kind: DeviceKind) -> DeviceHandler:
    """The handler registered for `kind` (every DeviceKind has one once `devices` is imported)."""
    try:
        return _REGISTRY[kind]()
    except KeyError:
        raise DeviceError(f"no handler for device kind {kind}") from None


def registered_kinds() -> frozenset[DeviceKind]:
    return frozenset(_REGISTRY)


def short_hash(*parts: object, length: int = 11) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


class DeviceHandler:
    """Base handler: registry hook, common planning, CDI env; effects are no-ops."""

    kind: ClassVar[DeviceKind]
    has_netdev: ClassVar[bool] = True

    def __init_subclass__(cls, *, kind: DeviceKind | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind = kind
            _REGISTRY[kind] = cls

    # -- reading the host (before planning) ---------------------------------------------
    def gather(self, device: InventoryDevice, config: DeviceConfig, probe: HostProbe) -> HostFacts:
        return HostFacts(protected=probe.protected_among(device.ifname, config.parent))

    # -- pure planning --------------------------------------------------------------------
    def plan(self, given: PlanInput) -> DevicePlan:
        """The device's plan; raises ConfigError listing every problem found."""
        problems = self.problems(given)
        if given.config.mptcp is not None:
            problems.extend(_endpoint_problems(given.config.mptcp, self.addresses(given)))
        if given.config.kind is not None and given.config.kind != given.device.kind:
            problems.append(
                f"device.kind: config says {given.config.kind} but allocated device "
                f"{given.device.name!r} is {given.device.kind}"
            )
        if problems:
            raise ConfigError([f"request {given.result.request!r}: {p}" for p in problems])
        return self.build(given, self.common(given))

    def problems(self, given: PlanInput) -> list[str]:
        """Kind-specific config problems as `field: reason`."""
        return []

    def addresses(self, given: PlanInput) -> tuple[str, ...]:
        """The interface's addresses: the config's, unless the kind assigns them itself."""
        return given.config.addresses

    def common(self, given: PlanInput) -> DevicePlan:
        config = given.config
        addresses = self.addresses(given)
        return DevicePlan(
            claim_uid=given.claim_uid,
            index=given.index,
            request=given.result.request,
            pool=given.result.pool,
            device=given.result.device,
            share_id=given.result.share_id,
            kind=given.device.kind,
            injection=given.injection,
            cdi_name=f"{given.claim_uid}-{given.index}",
            interface_name=(config.interface_name or given.default_name)
            if self.has_netdev
            else None,
            mtu=config.mtu,
            mac=config.mac,
            addresses=addresses,
            routes=tuple(RouteSpec(r.to, r.via, r.table) for r in config.routes),
            sysctls=config.sysctls,
            char_devices=given.facts.char_devices,
            rdma_device=given.device.rdma_device,
            mptcp=_mptcp_for(config.mptcp, addresses),
        )

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        """Fill in the kind-specific fields of the common plan."""
        return plan

    # -- effects --------------------------------------------------------------------------
    def prepare(self, plan: DevicePlan) -> None:
        """NodePrepareResources work in the host netns (CDI mode creates the interface)."""

    def attach(self, plan: DevicePlan, netns: str) -> None:
        """NRI RunPodSandbox: put the interface into the pod netns, configured and up."""

    def detach(self, plan: DevicePlan, netns: str | None) -> None:
        """NRI StopPodSandbox: take back what attach gave (netns None = already gone)."""

    def release(self, plan: DevicePlan) -> None:
        """Unprepare / reconcile: remove what prepare or attach left in the host netns."""

    def cdi_device(self, plan: DevicePlan) -> CdiDevice:
        env: list[str] = []
        if plan.interface_name:
            env.append(f"{env_name(plan.request, 'IFNAME')}={plan.interface_name}")
        if plan.rdma_device and plan.char_devices:
            env.append(f"{env_name(plan.request, 'RDMA_DEVICE')}={plan.rdma_device}")
        if not env:
            env.append(f"{env_name(plan.request, 'DEVICE')}={plan.device}")
        net: tuple[tuple[str, str], ...] = ()
        if plan.injection is Injection.CDI and plan.host_name and plan.interface_name:
            net = ((plan.host_name, plan.interface_name),)
        return CdiDevice(
            name=plan.cdi_name,
            env=tuple(env),
            device_nodes=plan.char_devices,
            net_devices=net,
        )


def configure_in_pod(plan: DevicePlan, netns: str) -> None:
    """Apply the plan's MAC, MTU, addresses, up, routes and sysctls to the pod interface."""
    name = _netdev_name(plan)
    netlink.configure_link(
        name,
        netns=netns,
        mtu=plan.mtu,
        mac=plan.mac,
        addresses=plan.addresses,
        routes=plan.routes,
        up=True,
    )
    if plan.sysctls:
        sysctl.write_sysctls(name, dict(plan.sysctls), netns=netns)
    if plan.mptcp is not None:
        mptcp.apply(plan.mptcp, netns)


def _endpoint_problems(settings: MptcpSettings, addresses: tuple[str, ...]) -> list[str]:
    """Endpoints against the addresses the interface ends up with (a kind or a PodNetwork may
    assign them, so the config alone cannot tell)."""
    ips = {ipaddress.ip_interface(a).ip for a in addresses}
    problems = []
    for i, endpoint in enumerate(settings.endpoints):
        path = f"mptcp.endpoints[{i}].address"
        if endpoint.address is None:
            if not ips:
                problems.append(f"{path}: unset, and the interface has no address")
        elif ipaddress.ip_address(endpoint.address) not in ips:
            problems.append(f"{path}: {endpoint.address} is not an address of the interface")
    return problems


def _mptcp_for(settings: MptcpSettings | None, addresses: tuple[str, ...]) -> MptcpSettings | None:
    """The config's endpoints with an address each: unset means every interface address."""
    if settings is None:
        return None
    ips = [str(ipaddress.ip_interface(a).ip) for a in addresses]
    endpoints = tuple(
        dataclasses.replace(endpoint, address=address)
        for endpoint in settings.endpoints
        for address in ([endpoint.address] if endpoint.address else ips)
    )
    return dataclasses.replace(settings, endpoints=endpoints)


def _netdev_name(plan: DevicePlan) -> str:
    if plan.interface_name is None:
        raise DeviceError(f"device {plan.device!r} has no network interface")
    return plan.interface_name


def require_host_name(plan: DevicePlan) -> str:
    if plan.host_name is None:
        raise DeviceError(f"device {plan.device!r} has no host interface name")
    return plan.host_name
