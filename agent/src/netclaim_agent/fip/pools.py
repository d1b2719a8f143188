"""Address pools as network-attached ResourceSlices: one device per address.

FloatingIPPools and the address ranges of PodNetworks are both published this way. The
scheduler then hands out addresses like any device, so no two claims ever hold the same one,
and a claim keeps its address wherever its pod runs. Pure functions: objects in, slice bodies
and counts out."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netclaim_agent import DRIVER_NAME
from netclaim_agent.errors import ReasonedError
from netclaim_agent.slices import API_VERSION, MAX_DEVICES_PER_SLICE, attributes_entry

POOL_API_VERSION = "netclaim.io/v1alpha1"
MAX_POOL_ADDRESSES = 4096
"""32 slices: the scheduler scans network-attached slices on every Filter call."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class PoolFlavor:
    """What kind of object owns a pool, and how its pool, slices and devices are named."""

    owner_kind: str
    pool_prefix: str
    slice_prefix: str
    device_prefix: str
    device_kind: str
    owner_attribute: str
    """Device attribute that names the owning object."""

    def device_name(self, address: Address) -> str:
        """`fip-198-51-100-7`, `ip-fd00-0000-…-0001`: a DNS label that maps back to the address."""
        return self.device_prefix + address.exploded.replace(".", "-").replace(":", "-")

    def address_of(self, device: str) -> Address | None:
        if not device.startswith(self.device_prefix):
            return None
        parts = device[len(self.device_prefix) :].split("-")
        text = ".".join(parts) if len(parts) == 4 else ":".join(parts)
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            return None


FLOATING_IP = PoolFlavor(
    owner_kind="FloatingIPPool",
    pool_prefix="floating-ip/",
    slice_prefix="netclaim-fip-",
    device_prefix="fip-",
    device_kind="floating-ip",
    owner_attribute="pool",
)
NETWORK_ADDRESS = PoolFlavor(
    owner_kind="PodNetwork",
    pool_prefix="pod-network/",
    slice_prefix="netclaim-pnet-",
    device_prefix="ip-",
    device_kind="network-address",
    owner_attribute="podNetwork",
)
POOL_PREFIX = FLOATING_IP.pool_prefix
DEVICE_KIND = FLOATING_IP.device_kind


class PoolError(ReasonedError):
    """The pool cannot be published as it is; the message says why (goes to its status)."""


@dataclass(frozen=True)
class PoolSpec:
    name: str
    uid: str
    cidrs: tuple[Network, ...]
    excluded: frozenset[Address] = frozenset()
    node_selector: Mapping[str, str] = field(default_factory=dict)
    announce: str = "hostRoute"
    created: str = ""
    flavor: PoolFlavor = FLOATING_IP
    bounds: tuple[tuple[Address | None, Address | None], ...] = ()
    """Per CIDR (same order), the first and last address to offer; none means the whole CIDR."""
    excluded_networks: tuple[Network, ...] = ()

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> PoolSpec:
        meta, spec = obj["metadata"], obj.get("spec") or {}
        try:
            cidrs = tuple(ipaddress.ip_network(c, strict=True) for c in spec.get("cidrs") or ())
            excluded = frozenset(
                ipaddress.ip_address(a) for a in spec.get("excludedAddresses") or ()
            )
        except ValueError as exc:
            raise PoolError("InvalidSpec", f"pool {meta['name']}: {exc}") from exc
        if not cidrs:
            raise PoolError("InvalidSpec", f"pool {meta['name']}: spec.cidrs is empty")
        return cls(
            name=str(meta["name"]),
            uid=str(meta.get("uid", "")),
            cidrs=cidrs,
            excluded=excluded,
            node_selector=dict(spec.get("nodeSelector") or {}),
            announce=str(spec.get("announce") or "hostRoute"),
            created=str(meta.get("creationTimestamp") or ""),
        )

    @property
    def pool_name(self) -> str:
        return self.flavor.pool_prefix + self.name


def addresses(spec: PoolSpec) -> list[Address]:
    """The pool's addresses in order; IPv4 network and broadcast addresses are left out."""
    total = sum(network.num_addresses for network in spec.cidrs)
    if total > MAX_POOL_ADDRESSES * 2:
        raise PoolError(
            "TooLarge", f"pool {spec.name}: {total} addresses; at most {MAX_POOL_ADDRESSES}"
        )
    found: set[Address] = set()
    for index, network in enumerate(spec.cidrs):
        first, last = spec.bounds[index] if index < len(spec.bounds) else (None, None)
        hosts: Iterable[Address] = (
            network.hosts() if network.version == 4 and network.prefixlen < 31 else network
        )
        found.update(
            a
            for a in hosts
            if a not in spec.excluded
            and (first is None or int(a) >= int(first))
            and (last is None or int(a) <= int(last))
            and not any(a in excluded for excluded in spec.excluded_networks)
        )
    if len(found) > MAX_POOL_ADDRESSES:
        raise PoolError(
            "TooLarge", f"pool {spec.name}: {len(found)} addresses; at most {MAX_POOL_ADDRESSES}"
        )
    return sorted(found, key=lambda a: (a.version, int(a)))


def device_name(address: Address) -> str:
    return FLOATING_IP.device_name(address)


def address_of(device: str) -> Address | None:
    return FLOATING_IP.address_of(device)


def held_addresses(
    claims: Iterable[Mapping[str, Any]], pool_name: str, flavor: PoolFlavor = FLOATING_IP
) -> set[Address]:
    """Addresses of the pool that allocated claims hold."""
    return {h.address for h in holdings(claims, pool_name, flavor)}


def conflicts(
    spec: PoolSpec, others: Sequence[PoolSpec], node_addresses: Iterable[str]
) -> PoolError | None:
    """Why this pool must not publish: it overlaps an older pool or contains a node address."""
    for other in others:
        if other.name == spec.name or (other.created, other.name) > (spec.created, spec.name):
            continue
        for mine in spec.cidrs:
            for theirs in other.cidrs:
                if mine.version == theirs.version and mine.overlaps(theirs):
                    return PoolError(
                        "OverlapsPool",
                        f"{mine} overlaps {theirs} of older pool {other.name}; "
                        "an address must belong to one pool",
                    )
    for text in node_addresses:
        try:
            node_address = ipaddress.ip_address(text)
        except ValueError:
            continue
        for network in spec.cidrs:
            if node_address in network:
                return PoolError(
                    "ContainsNodeAddress",
                    f"{network} contains node address {node_address}; it would be answered twice",
                )
    return None


def build_pool_slices(
    spec: PoolSpec, generation: int, held: Iterable[Address], publish: bool = True
) -> list[dict[str, Any]]:
    """The pool's slices. Held addresses stay published even if the pool no longer has them
    (marked `retiring`), so a running claim never loses its device; `publish=False` offers
    nothing new."""
    current = set(addresses(spec)) if publish else set()
    everything = sorted(current | set(held), key=lambda a: (a.version, int(a)))
    devices = [_device(spec, address, retiring=address not in current) for address in everything]
    chunks = [
        devices[i : i + MAX_DEVICES_PER_SLICE]
        for i in range(0, len(devices), MAX_DEVICES_PER_SLICE)
    ] or [[]]
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "ResourceSlice",
            "metadata": {
                "generateName": f"{spec.flavor.slice_prefix}{spec.name}-",
                "ownerReferences": [
                    {
                        "apiVersion": POOL_API_VERSION,
                        "kind": spec.flavor.owner_kind,
                        "name": spec.name,
                        "uid": spec.uid,
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "driver": DRIVER_NAME,
                "pool": {
                    "name": spec.pool_name,
                    "generation": generation,
                    "resourceSliceCount": len(chunks),
                },
                **_scope(spec),
                "devices": chunk,
            },
        }
        for chunk in chunks
    ]


def _scope(spec: PoolSpec) -> dict[str, Any]:
    if not spec.node_selector:
        return {"allNodes": True}
    return {
        "nodeSelector": {
            "nodeSelectorTerms": [
                {
                    "matchExpressions": [
                        {"key": key, "operator": "In", "values": [value]}
                        for key, value in sorted(spec.node_selector.items())
                    ]
                }
            ]
        }
    }


def _device(spec: PoolSpec, address: Address, *, retiring: bool) -> dict[str, Any]:
    name = spec.flavor.device_name(address)
    attributes: dict[str, str | bool] = {
        f"{DRIVER_NAME}/kind": spec.flavor.device_kind,
        f"{DRIVER_NAME}/ip": str(address),
        f"{DRIVER_NAME}/{spec.flavor.owner_attribute}": spec.name,
        f"{DRIVER_NAME}/family": f"ipv{address.version}",
    }
    if retiring:
        attributes[f"{DRIVER_NAME}/retiring"] = True
    return {"name": name, "attributes": attributes_entry(name, attributes)}


@dataclass(frozen=True)
class PoolCounts:
    size: int
    allocated: int

    @property
    def free(self) -> int:
        return max(self.size - self.allocated, 0)


def counts(spec: PoolSpec, held: Iterable[Address]) -> PoolCounts:
    pool = set(addresses(spec))
    return PoolCounts(size=len(pool), allocated=len(pool & set(held)))


@dataclass(frozen=True)
class Holding:
    """An address of the pool held by an allocated claim, and the pods that reserve it."""

    address: Address
    claim: str
    pods: tuple[tuple[str, str], ...]


def holdings(
    claims: Iterable[Mapping[str, Any]], pool_name: str, flavor: PoolFlavor = FLOATING_IP
) -> list[Holding]:
    found = []
    for claim in claims:
        status = claim.get("status") or {}
        results = ((status.get("allocation") or {}).get("devices") or {}).get("results") or ()
        meta = claim.get("metadata") or {}
        pods = tuple(
            (str(meta.get("namespace")), str(r.get("name")))
            for r in status.get("reservedFor") or ()
            if r.get("resource") == "pods"
        )
        for result in results:
            if result.get("driver") != DRIVER_NAME or result.get("pool") != pool_name:
                continue
            address = flavor.address_of(str(result.get("device", "")))
            if address is not None:
                found.append(Holding(address, f"{meta.get('namespace')}/{meta.get('name')}", pods))
    return found


def stranded(
    held: Iterable[Holding], pod_nodes: Mapping[tuple[str, str], str], ready_nodes: set[str]
) -> list[str]:
    """Addresses whose pod runs on a node that is not Ready: the address stays with that pod
    (so no other node answers for it) until the pod is deleted."""
    return [
        f"{h.address} (claim {h.claim}, pod {pod[0]}/{pod[1]} on node {pod_nodes[pod]})"
        for h in held
        for pod in h.pods
        if pod in pod_nodes and pod_nodes[pod] not in ready_nodes
    ]
