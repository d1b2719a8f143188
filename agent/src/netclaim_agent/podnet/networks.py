"""A PodNetwork as a checked value: which devices it selects and which addresses it hands out.

Pure: the node agent uses it to tag its devices and to address a claim's interface, the
controller to publish the network's addresses and to explain the network's state. Both sides
call the same `selects`, so they never disagree about membership."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netclaim_agent import DRIVER_NAME
from netclaim_agent.errors import ReasonedError
from netclaim_agent.fip.pools import (
    NETWORK_ADDRESS,
    Address,
    Network,
    PoolError,
    PoolSpec,
    addresses,
)
from netclaim_agent.model import AttributeValue

GROUP, VERSION, PLURAL = "netclaim.io", "v1alpha1", "podnetworks"
TAG = "podNetwork"
"""Device attribute (under `netclaim.io/`) naming the network a node device belongs to."""
UPLINKS_ANNOTATION = f"{DRIVER_NAME}/default-route-interfaces"
"""On a node's ResourceSlices: the interfaces netclaim never offers because they carry the
node's default route (the controller reports networks that name them)."""


class NetworkError(ReasonedError):
    """Why a network is not usable as it is; `reason` is the Ready condition's reason."""


@dataclass(frozen=True)
class NetworkRoute:
    to: Network
    via: Address | None = None


@dataclass(frozen=True)
class AddressRange:
    cidr: Network
    start: Address | None = None
    end: Address | None = None
    exclude: tuple[Network, ...] = ()


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    uid: str = ""
    generation: int = 0
    created: str = ""
    enabled: bool = True
    ready: bool = False
    """The controller's Ready condition: nodes tag devices only for Ready networks."""
    deleting: bool = False
    mtu: int | None = None
    kinds: frozenset[str] = frozenset()
    interface_names: frozenset[str] = frozenset()
    attributes: Mapping[str, str] = field(default_factory=dict)
    cel: str | None = None
    ranges: tuple[AddressRange, ...] = ()
    gateway: Address | None = None
    routes: tuple[NetworkRoute, ...] = ()

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> NetworkSpec:
        """Parse a PodNetwork; malformed addresses raise NetworkError(InvalidIPAM)."""
        meta, spec = obj["metadata"], obj.get("spec") or {}
        name = str(meta["name"])
        selector = spec.get("deviceSelector") or {}
        ipam = spec.get("ipam") or {}
        try:
            ranges = tuple(
                AddressRange(
                    cidr=ipaddress.ip_network(r["cidr"], strict=True),
                    start=_ip(r.get("start")),
                    end=_ip(r.get("end")),
                    exclude=tuple(
                        ipaddress.ip_network(e, strict=False) for e in r.get("exclude") or ()
                    ),
                )
                for r in ipam.get("ranges") or ()
            )
            routes = tuple(
                NetworkRoute(ipaddress.ip_network(r["to"], strict=True), _ip(r.get("via")))
                for r in ipam.get("routes") or ()
            )
            gateway = _ip(ipam.get("gateway"))
        except (ValueError, KeyError, TypeError) as exc:
            raise NetworkError("InvalidIPAM", f"PodNetwork {name}: spec.ipam: {exc}") from exc
        status = obj.get("status") or {}
        return cls(
            name=name,
            uid=str(meta.get("uid", "")),
            generation=int(meta.get("generation", 0)),
            created=str(meta.get("creationTimestamp") or ""),
            enabled=spec.get("enabled", True) is not False,
            ready=any(
                c.get("type") == "Ready"
                and c.get("status") == "True"
                and c.get("observedGeneration", 0) == meta.get("generation", 0)
                for c in status.get("conditions") or ()
            ),
            deleting=bool(meta.get("deletionTimestamp")),
            mtu=spec.get("mtu"),
            kinds=frozenset(selector.get("kinds") or ()),
            interface_names=frozenset(selector.get("interfaceNames") or ()),
            attributes={_plain(k): str(v) for k, v in (selector.get("attributes") or {}).items()},
            cel=selector.get("cel") or None,
            ranges=ranges,
            gateway=gateway,
            routes=routes,
        )

    @property
    def pool_name(self) -> str:
        return NETWORK_ADDRESS.pool_prefix + self.name

    @property
    def has_selector(self) -> bool:
        return bool(self.kinds or self.interface_names or self.attributes)

    def selects(self, attributes: Mapping[str, AttributeValue]) -> bool:
        """Whether a node device with these attributes belongs to the network (all criteria)."""
        if not self.has_selector:
            return False
        plain = {_plain(k): v for k, v in attributes.items()}
        if self.kinds and str(plain.get("kind")) not in self.kinds:
            return False
        if self.interface_names and not (
            {str(plain.get("ifName")), str(plain.get("pfName"))} & self.interface_names
        ):
            return False
        return all(_text(plain.get(k)) == v for k, v in self.attributes.items())

    def address_pool(self) -> PoolSpec:
        """The network's addresses as a pool (the gateway is never handed out)."""
        return PoolSpec(
            name=self.name,
            uid=self.uid,
            cidrs=tuple(r.cidr for r in self.ranges),
            excluded=frozenset([self.gateway] if self.gateway is not None else []),
            bounds=tuple((r.start, r.end) for r in self.ranges),
            excluded_networks=tuple(e for r in self.ranges for e in r.exclude),
            created=self.created,
            flavor=NETWORK_ADDRESS,
        )

    def prefix_length(self, address: Address) -> int | None:
        """The prefix of the range holding `address`, for the interface's address."""
        return next((r.cidr.prefixlen for r in self.ranges if address in r.cidr), None)

    def route_specs(self) -> list[tuple[str, str | None]]:
        """(to, via) of each route; a route without `via` goes through the gateway."""
        found = []
        for route in self.routes:
            via = route.via or self.gateway
            found.append((str(route.to), None if via is None else str(via)))
        return found


def _ip(text: Any) -> Address | None:
    return None if text in (None, "") else ipaddress.ip_address(str(text))


def _plain(key: str) -> str:
    """Attribute names as the agent keeps them: `netclaim.io/` is the default domain."""
    return key.removeprefix(f"{DRIVER_NAME}/")


def _text(value: AttributeValue | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def validate(spec: NetworkSpec, others: Sequence[NetworkSpec]) -> NetworkError | None:
    """The first reason the network cannot be offered, or None. Overlaps are charged to the
    younger network, so the older one keeps working."""
    if not spec.has_selector:
        return NetworkError(
            "InvalidSelector",
            "spec.deviceSelector names no kinds, interfaceNames or attributes; "
            "a network must say which devices it is made of",
        )
    problem = _ipam_problem(spec)
    if problem is not None:
        return NetworkError("InvalidIPAM", problem)
    for other in others:
        if other.name == spec.name or (other.created, other.name) > (spec.created, spec.name):
            continue
        for mine in spec.ranges:
            for theirs in other.ranges:
                if mine.cidr.version == theirs.cidr.version and mine.cidr.overlaps(theirs.cidr):
                    return NetworkError(
                        "OverlapsNetwork",
                        f"range {mine.cidr} overlaps {theirs.cidr} of PodNetwork {other.name}; "
                        "an address must belong to one network",
                    )
    return None


def _ipam_problem(spec: NetworkSpec) -> str | None:
    if not spec.ranges:
        return "spec.ipam.ranges is empty: the network has no addresses to hand out"
    problem = next(_range_problems(spec), None) or next(_route_problems(spec), None)
    if problem is not None:
        return problem
    try:
        if not addresses(spec.address_pool()):
            return "the ranges hold no address to hand out (all excluded)"
    except PoolError as exc:
        return str(exc)
    return None


def _range_problems(spec: NetworkSpec) -> Iterator[str]:
    for index, item in enumerate(spec.ranges):
        where = f"spec.ipam.ranges[{index}]"
        for label, bound in (("start", item.start), ("end", item.end)):
            if bound is not None and bound not in item.cidr:
                yield f"{where}.{label} {bound} is outside {item.cidr}"
        if item.start is not None and item.end is not None and int(item.start) > int(item.end):
            yield f"{where}: start {item.start} is after end {item.end}"
        for other in spec.ranges[index + 1 :]:
            if item.cidr.version == other.cidr.version and item.cidr.overlaps(other.cidr):
                yield f"{where}: {item.cidr} overlaps {other.cidr} of the same network"


def _route_problems(spec: NetworkSpec) -> Iterator[str]:
    if spec.gateway is not None and not any(spec.gateway in r.cidr for r in spec.ranges):
        yield f"spec.ipam.gateway {spec.gateway} is outside every range"
    for index, route in enumerate(spec.routes):
        via = route.via or spec.gateway
        if via is None:
            yield f"spec.ipam.routes[{index}]: no via and no gateway to send {route.to} to"
        elif via.version != route.to.version:
            yield f"spec.ipam.routes[{index}]: {route.to} via {via} mixes address families"


@dataclass(frozen=True)
class Membership:
    """Which network each node device belongs to, and devices claimed by several networks."""

    tags: Mapping[str, str]
    contested: Mapping[str, tuple[str, ...]]


def membership(
    devices: Iterable[tuple[str, Mapping[str, AttributeValue]]], networks: Sequence[NetworkSpec]
) -> Membership:
    """Devices (name, attributes) matched against networks; a device two networks select
    belongs to neither (the controller reports it in both)."""
    tags: dict[str, str] = {}
    contested: dict[str, tuple[str, ...]] = {}
    for name, attributes in devices:
        matched = tuple(sorted(n.name for n in networks if n.selects(attributes)))
        if len(matched) == 1:
            tags[name] = matched[0]
        elif matched:
            contested[name] = matched
    return Membership(tags, contested)


def node_tags(
    devices: Iterable[tuple[str, Mapping[str, AttributeValue]]], networks: Sequence[NetworkSpec]
) -> dict[str, str]:
    """The `podNetwork` tag of each device a node publishes. Every enabled network takes part
    in membership, so a contested device stays untagged even before the controller has marked
    the networks; only networks the controller reports Ready get their devices tagged."""
    live = contenders(networks)
    ready = {n.name for n in live if n.ready}
    return {d: n for d, n in membership(devices, live).tags.items() if n in ready}


def contenders(networks: Sequence[NetworkSpec]) -> list[NetworkSpec]:
    """Networks that take part in device membership: enabled, valid, not being deleted."""
    return [n for n in networks if n.enabled and not n.deleting and validate(n, networks) is None]
