"""What the controller says about a PodNetwork: its Ready condition and which nodes offer it.

Pure: parsed networks, the driver's slices and the claims in; one verdict per network out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netclaim_agent import DRIVER_NAME
from netclaim_agent.fip.pools import NETWORK_ADDRESS, PoolError, addresses, holdings
from netclaim_agent.model import AttributeValue
from netclaim_agent.podnet.networks import (
    UPLINKS_ANNOTATION,
    NetworkError,
    NetworkSpec,
    contenders,
    membership,
    validate,
)
from netclaim_agent.slices import SLOTS_CAPACITY


@dataclass(frozen=True)
class NodeDevice:
    node: str
    pool: str
    name: str
    attributes: Mapping[str, AttributeValue]
    slots: int | None
    """Claims the device can serve at once; None for a device one claim takes whole."""


@dataclass(frozen=True)
class NodeOffer:
    name: str
    devices: int
    available: int


@dataclass(frozen=True)
class Verdict:
    name: str
    ready: bool
    reason: str
    message: str
    nodes: tuple[NodeOffer, ...] = ()
    size: int = 0
    allocated: int = 0
    publish_addresses: bool = False
    holders: tuple[str, ...] = ()
    """Claims (namespace/name) holding an address of the network."""

    @property
    def free(self) -> int:
        return max(self.size - self.allocated, 0)


def node_devices(slices: Sequence[Mapping[str, Any]]) -> list[NodeDevice]:
    """Devices of the driver's node-local slices, current generation only."""
    newest: dict[str, int] = {}
    for item in slices:
        pool = item["spec"].get("pool") or {}
        if item["spec"].get("nodeName"):
            newest[pool["name"]] = max(newest.get(pool["name"], 0), pool.get("generation", 0))
    found = []
    for item in slices:
        spec, pool = item["spec"], item["spec"].get("pool") or {}
        node = spec.get("nodeName")
        if not node or pool.get("generation", 0) != newest.get(pool["name"]):
            continue
        for device in spec.get("devices") or ():
            attributes = {
                key: next(iter(value.values()))
                for key, value in (device.get("attributes") or {}).items()
                if value
            }
            slots = (device.get("capacity") or {}).get(SLOTS_CAPACITY, {}).get("value")
            found.append(
                NodeDevice(
                    node,
                    pool["name"],
                    device["name"],
                    attributes,
                    None if slots is None else int(slots),
                )
            )
    return found


def node_uplinks(slices: Sequence[Mapping[str, Any]]) -> dict[str, set[str]]:
    """Per node, the default-route interfaces its agent announced on its slices."""
    found: dict[str, set[str]] = {}
    for item in slices:
        node = item["spec"].get("nodeName")
        text = ((item.get("metadata") or {}).get("annotations") or {}).get(UPLINKS_ANNOTATION)
        if node and text:
            found.setdefault(node, set()).update(t for t in text.split(",") if t)
    return found


def allocations(claims: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """(pool, device) of our driver -> how many allocated claims use it."""
    used: dict[tuple[str, str], int] = {}
    for claim in claims:
        allocation = (claim.get("status") or {}).get("allocation") or {}
        for result in (allocation.get("devices") or {}).get("results") or ():
            if result.get("driver") == DRIVER_NAME:
                key = (str(result.get("pool")), str(result.get("device")))
                used[key] = used.get(key, 0) + 1
    return used


@dataclass(frozen=True)
class Picture:
    """The cluster as the controller sees it in one pass."""

    networks: Sequence[NetworkSpec]
    devices: Sequence[NodeDevice]
    uplinks: Mapping[str, set[str]]
    used: Mapping[tuple[str, str], int]
    contested: Mapping[str, tuple[str, ...]]
    claims: Sequence[Mapping[str, Any]]


def judge(
    networks: Sequence[NetworkSpec],
    slices: Sequence[Mapping[str, Any]],
    claims: Sequence[Mapping[str, Any]],
) -> list[Verdict]:
    devices = node_devices(slices)
    live = contenders(networks)
    picture = Picture(
        networks=networks,
        devices=devices,
        uplinks=node_uplinks(slices),
        used=allocations(claims),
        contested=membership(
            ((f"{d.node}/{d.name}", d.attributes) for d in devices), live
        ).contested,
        claims=claims,
    )
    return [_judge(n, picture) for n in networks]


def _judge(network: NetworkSpec, picture: Picture) -> Verdict:
    held_by = holdings(picture.claims, network.pool_name, NETWORK_ADDRESS)
    held = {h.address for h in held_by}
    holders = tuple(sorted({h.claim for h in held_by}))
    problem = validate(network, picture.networks)
    try:
        pool = set(addresses(network.address_pool())) if problem is None else set()
    except PoolError:
        pool = set()
    offers = _offers(network, picture.devices, picture.used) if problem is None else ()
    blocker = _blocker(network, picture, problem, offers, holders)
    size, allocated = len(pool), len(pool & held)
    if blocker is None:
        total = sum(o.devices for o in offers)
        free = f"{size - allocated} of {size} addresses free"
        reason, message = "Ready", f"{total} devices on {len(offers)} nodes; {free}"
    else:
        reason, message = blocker
    return Verdict(
        network.name,
        ready=blocker is None,
        reason=reason,
        message=message,
        nodes=offers,
        size=size,
        allocated=allocated,
        publish_addresses=problem is None and network.enabled and not network.deleting,
        holders=holders,
    )


def _blocker(
    network: NetworkSpec,
    picture: Picture,
    problem: NetworkError | None,
    offers: Sequence[NodeOffer],
    holders: Sequence[str],
) -> tuple[str, str] | None:
    """(reason, message) of the first thing that keeps the network from being Ready."""
    if network.deleting:
        waiting = f"; waiting for {len(holders)} claims to release their addresses"
        return "Deleting", "PodNetwork is being deleted" + (waiting if holders else "")
    if problem is not None:
        return problem.reason, str(problem)
    if not network.enabled:
        return "Disabled", (
            "spec.enabled is false: running pods keep their interfaces, new claims wait"
        )
    uplinks = sorted(
        f"{node}/{ifname}"
        for node, names in picture.uplinks.items()
        for ifname in names & network.interface_names
    )
    shared = sorted(
        f"{device} (also {', '.join(n for n in names if n != network.name)})"
        for device, names in picture.contested.items()
        if network.name in names
    )
    checks = (
        (
            uplinks,
            "SelectsDefaultRouteInterface",
            f"spec.deviceSelector.interfaceNames names {', '.join(uplinks)}, which carries the "
            "node's default route; netclaim never hands that interface to pods",
        ),
        (
            shared,
            "DeviceSelectedTwice",
            "devices selected by more than one PodNetwork belong to none: " + "; ".join(shared[:5]),
        ),
        (
            not offers,
            "NoMatchingDevices",
            "no node publishes a device that spec.deviceSelector selects",
        ),
    )
    return next(((reason, message) for hit, reason, message in checks if hit), None)


def _offers(
    network: NetworkSpec, devices: Sequence[NodeDevice], used: Mapping[tuple[str, str], int]
) -> tuple[NodeOffer, ...]:
    per_node: dict[str, list[int]] = {}
    for device in devices:
        if not network.selects(device.attributes):
            continue
        taken = used.get((device.pool, device.name), 0)
        free = taken < device.slots if device.slots is not None else taken == 0
        counts = per_node.setdefault(device.node, [0, 0])
        counts[0] += 1
        counts[1] += int(free)
    return tuple(NodeOffer(node, c[0], c[1]) for node, c in sorted(per_node.items()))


def parse_all(objects: Sequence[Mapping[str, Any]]) -> tuple[list[NetworkSpec], list[Verdict]]:
    """Parsed networks, and a verdict for each object that does not even parse."""
    parsed, broken = [], []
    for obj in objects:
        try:
            parsed.append(NetworkSpec.from_object(obj))
        except NetworkError as exc:
            broken.append(Verdict(str(obj["metadata"]["name"]), False, exc.reason, str(exc)))
    return parsed, broken
