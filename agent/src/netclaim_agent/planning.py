"""From an allocated claim to a deterministic plan and the answer kubelet gets.

`resolve` reads (inventory, sysfs, netlink) but changes nothing; `plan_claim` and
`prepare_result` are pure, so a repeated Prepare computes the same thing and tests need no host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from netclaim_agent import DRIVER_NAME
from netclaim_agent.claims import AllocatedDevice, ClaimAllocation
from netclaim_agent.devices import DevicePlan, HostFacts, HostProbe, PlanInput, handler_for
from netclaim_agent.errors import ConfigError, NetclaimError
from netclaim_agent.fip.pools import NETWORK_ADDRESS, POOL_PREFIX, Address, address_of
from netclaim_agent.model import (
    ClaimRef,
    DeviceKind,
    Injection,
    InventoryDevice,
    NetworkData,
    PreparedDevice,
    PrepareResult,
)
from netclaim_agent.opaque import DeviceConfig, RouteConfig
from netclaim_agent.podnet.networks import NetworkSpec

NetworkLookup = Callable[[str], NetworkSpec | None]


def no_networks(name: str) -> NetworkSpec | None:
    return None


@dataclass(frozen=True)
class ResolvedDevice:
    """An allocation result with the inventory record, merged config and host facts it needs."""

    result: AllocatedDevice
    device: InventoryDevice
    config: DeviceConfig
    facts: HostFacts


@dataclass(frozen=True)
class ClaimPlan:
    ref: ClaimRef
    pod_uids: tuple[str, ...]
    devices: tuple[DevicePlan, ...]


def no_announce(pool: str) -> str:
    return "hostRoute"


def pool_device(
    pool: str, name: str, announce: Callable[[str], str] = no_announce
) -> InventoryDevice | None:
    """A device of a floating-IP pool: not node inventory; its address is in its name, the
    pool's announce mode comes from `announce` (by pool name)."""
    address = address_of(name) if pool.startswith(POOL_PREFIX) else None
    if address is None:
        return None
    pool_name = pool.removeprefix(POOL_PREFIX)
    return InventoryDevice(
        name=name,
        kind=DeviceKind.FLOATING_IP,
        attributes={
            f"{DRIVER_NAME}/ip": str(address),
            f"{DRIVER_NAME}/pool": pool_name,
            f"{DRIVER_NAME}/announce": announce(pool_name),
        },
    )


def resolve(
    allocation: ClaimAllocation,
    inventory: Callable[[str], InventoryDevice | None],
    probe: HostProbe,
    networks: NetworkLookup = no_networks,
    announce: Callable[[str], str] = no_announce,
) -> list[ResolvedDevice]:
    """Look up every allocated device and merge its config; all problems in one ConfigError.

    A PodNetwork address the scheduler allocated is not a device of its own: it configures
    the claim's interface on that network (address, gateway routes, MTU)."""
    resolved: list[ResolvedDevice] = []
    problems: list[str] = []
    summary = "invalid netclaim config"
    interfaces = [r for r in allocation.results if not _is_network_address(r)]
    addressing = _network_addresses(allocation, interfaces, inventory, networks, problems)
    for result in interfaces:
        device = pool_device(result.pool, result.device, announce) or inventory(result.device)
        if device is None:
            summary = "cannot prepare claim"
            problems.append(
                f"request {result.request!r}: device {result.device!r} is not in this node's "
                f"{DRIVER_NAME} inventory"
            )
            continue
        try:
            config = allocation.config_for(result)
            if result.request in addressing:
                config = _addressed(config, *addressing[result.request])
            facts = handler_for(device.kind).gather(device, config, probe)
        except ConfigError as exc:
            problems.extend(f"request {result.request!r}: {p}" for p in exc.problems)
            continue
        except NetclaimError as exc:
            summary = "cannot prepare claim"
            problems.append(f"request {result.request!r}: {exc}")
            continue
        resolved.append(ResolvedDevice(result, device, config, facts))
    if problems:
        raise ConfigError(problems, summary=summary)
    return resolved


def _is_network_address(result: AllocatedDevice) -> bool:
    return result.pool.startswith(NETWORK_ADDRESS.pool_prefix)


def _network_addresses(
    allocation: ClaimAllocation,
    interfaces: Sequence[AllocatedDevice],
    inventory: Callable[[str], InventoryDevice | None],
    networks: NetworkLookup,
    problems: list[str],
) -> dict[str, tuple[NetworkSpec, Address]]:
    """request of an interface -> (its network, the address allocated for it)."""
    found: dict[str, tuple[NetworkSpec, Address]] = {}
    for result in allocation.results:
        if not _is_network_address(result):
            continue
        name = result.pool.removeprefix(NETWORK_ADDRESS.pool_prefix)
        where = f"request {result.request!r}"
        network = networks(name)
        address = NETWORK_ADDRESS.address_of(result.device)
        if network is None or address is None:
            problems.append(f"{where}: PodNetwork {name!r} does not exist (any more)")
            continue
        members = [
            r.request
            for r in interfaces
            if (device := inventory(r.device)) is not None and network.selects(device.attributes)
        ]
        if len(members) != 1:
            problems.append(
                f"{where}: address {address} of PodNetwork {name!r} needs exactly one interface "
                f"on that network in the claim, found {len(members)}"
            )
            continue
        found[members[0]] = (network, address)
    return found


def _addressed(config: DeviceConfig, network: NetworkSpec, address: Address) -> DeviceConfig:
    if config.addresses:
        raise ConfigError(
            f"interface.addresses: the address comes from PodNetwork {network.name!r} "
            f"({address}); remove the configured ones"
        )
    prefix = network.prefix_length(address)
    if prefix is None:
        raise ConfigError(f"address {address} is outside every range of {network.name!r}")
    routes = tuple(RouteConfig(to, via) for to, via in network.route_specs())
    return replace(
        config,
        addresses=(f"{address}/{prefix}",),
        routes=config.routes + routes,
        mtu=config.mtu if config.mtu is not None else network.mtu,
    )


def plan_claim(
    allocation: ClaimAllocation,
    resolved: Sequence[ResolvedDevice],
    injection: Injection,
    taken: Mapping[str, str] | None = None,
) -> ClaimPlan:
    """Every device's plan; pure and deterministic (same input, same plan).

    `taken` maps interface names that other prepared claims of the same pod already use to
    those claims, so defaults avoid them and explicit names cannot collide.
    """
    taken = dict(taken or {})
    plans: list[DevicePlan] = []
    problems: list[str] = []
    defaults = _default_names(resolved, taken)
    for index, item in enumerate(resolved):
        given = PlanInput(
            claim_uid=allocation.ref.uid,
            index=index,
            result=item.result,
            device=item.device,
            config=item.config,
            facts=item.facts,
            injection=injection,
            default_name=defaults[index],
        )
        try:
            plans.append(handler_for(item.device.kind).plan(given))
        except ConfigError as exc:
            problems.extend(exc.problems)
    problems.extend(_duplicate_names(plans, taken))
    if problems:
        raise ConfigError(problems)
    return ClaimPlan(ref=allocation.ref, pod_uids=allocation.pod_uids, devices=tuple(plans))


def _default_names(resolved: Sequence[ResolvedDevice], taken: Mapping[str, str]) -> list[str]:
    """`net<N>` names, skipping names the pod's other claims and this claim's configs use."""
    explicit = {item.config.interface_name for item in resolved}
    free = (
        f"net{n}" for n in range(1, 10_000) if f"net{n}" not in taken and f"net{n}" not in explicit
    )
    return [next(free) for _ in resolved]


def _duplicate_names(plans: Sequence[DevicePlan], taken: Mapping[str, str]) -> list[str]:
    seen = {name: f"claim {owner}" for name, owner in taken.items()}
    problems = []
    for plan in plans:
        name = plan.interface_name
        if name is None:
            continue
        if name in seen:
            problems.append(
                f"request {plan.request!r}: interface.name {name!r} is also used by {seen[name]}"
            )
        seen.setdefault(name, f"request {plan.request!r}")
    return problems


def prepare_result(plans: Sequence[DevicePlan]) -> PrepareResult:
    """What kubelet gets (devices + CDI IDs) and what claim status reports (network data)."""
    devices = []
    network = []
    for plan in plans:
        cdi_ids = handler_for(plan.kind).cdi_device(plan).ids()
        devices.append(
            PreparedDevice(
                request_names=(plan.request.split("/", 1)[0],),
                pool_name=plan.pool,
                device_name=plan.device,
                cdi_device_ids=cdi_ids,
                share_id=plan.share_id,
            )
        )
        if plan.interface_name is not None:
            network.append(
                NetworkData(
                    pool_name=plan.pool,
                    device_name=plan.device,
                    share_id=plan.share_id,
                    interface_name=plan.interface_name,
                    hardware_address=plan.mac,
                    ips=plan.addresses,
                )
            )
    return PrepareResult(devices=tuple(devices), network=tuple(network))


def result_to_record(result: PrepareResult) -> dict[str, Any]:
    return {
        "devices": [
            {
                "requestNames": list(d.request_names),
                "poolName": d.pool_name,
                "deviceName": d.device_name,
                "cdiDeviceIDs": list(d.cdi_device_ids),
                "shareID": d.share_id,
            }
            for d in result.devices
        ],
        "network": [
            {
                "poolName": n.pool_name,
                "deviceName": n.device_name,
                "shareID": n.share_id,
                "interfaceName": n.interface_name,
                "hardwareAddress": n.hardware_address,
                "ips": list(n.ips),
            }
            for n in result.network
        ],
    }


def result_from_record(record: Mapping[str, Any]) -> PrepareResult:
    devices = tuple(
        PreparedDevice(
            request_names=tuple(d["requestNames"]),
            pool_name=d["poolName"],
            device_name=d["deviceName"],
            cdi_device_ids=tuple(d["cdiDeviceIDs"]),
            share_id=d.get("shareID"),
        )
        for d in record.get("devices", ())
    )
    network = tuple(
        NetworkData(
            pool_name=n["poolName"],
            device_name=n["deviceName"],
            share_id=n.get("shareID"),
            interface_name=n["interfaceName"],
            hardware_address=n.get("hardwareAddress"),
            ips=tuple(n.get("ips", ())),
        )
        for n in record.get("network", ())
    )
    return PrepareResult(devices=devices, network=network)
