"""The versioned opaque config (`netclaim.io/v1alpha1` `NetworkConfig`): strict parse and merge.

Structure is checked by the JSON Schema shipped in `schema/` (the Ansible collection copies the
same file); meaning (CIDRs, name byte length, route families) is checked here. Every problem is
reported with its field path, all of them in one `ConfigError`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]

from netclaim_agent import DRIVER_NAME
from netclaim_agent.errors import ConfigError
from netclaim_agent.linknames import ifname_problem, mac_problem
from netclaim_agent.model import DeviceKind, MptcpEndpoint, MptcpSettings

API_VERSION = "netclaim.io/v1alpha1"
CONFIG_KIND = "NetworkConfig"
MAX_PARAMETERS_BYTES = 10 * 1024
"""The API server caps a RawExtension at 10 KiB; anything bigger did not come from it."""
SECTIONS = ("device", "interface", "mptcp")


@dataclass(frozen=True)
class RouteConfig:
    to: str
    via: str | None = None
    table: int | None = None


@dataclass(frozen=True)
class DeviceConfig:
    """The merged, validated config for one request; None means "not set, use the default"."""

    kind: DeviceKind | None = None
    parent: str | None = None
    mode: str | None = None
    vlan: int | None = None
    trust: bool | None = None
    spoofchk: bool | None = None
    rdma_char_devices: tuple[str, ...] | None = None
    interface_name: str | None = None
    mtu: int | None = None
    mac: str | None = None
    addresses: tuple[str, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    sysctls: tuple[tuple[str, int], ...] = ()
    mptcp: MptcpSettings | None = None


@dataclass(frozen=True)
class OpaqueConfig:
    """One of our driver's config entries from `status.allocation.devices.config`."""

    label: str
    """Where it came from, for error paths, e.g. `config[2] (FromClaim)`."""
    requests: tuple[str, ...]
    parameters: Mapping[str, Any]

    def applies_to(self, request: str) -> bool:
        base = request.split("/", 1)[0]
        return not self.requests or request in self.requests or base in self.requests


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("netclaim_agent").joinpath("schema/netclaim-config.schema.json")
    schema = json.loads(text.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_problems(parameters: Any, label: str) -> list[str]:
    """Size and JSON Schema problems of one parameters document, each as `path: reason`."""
    try:
        size = len(json.dumps(parameters, separators=(",", ":")).encode())
    except (TypeError, ValueError, RecursionError) as exc:
        return [f"{label}: not JSON-serialisable ({type(exc).__name__}: {exc})"]
    if size > MAX_PARAMETERS_BYTES:
        return [f"{label}: {size} bytes is over the {MAX_PARAMETERS_BYTES}-byte limit"]
    problems = []
    for error in sorted(_validator().iter_errors(parameters), key=lambda e: list(e.path)):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        problems.append(f"{label}{path}: {_short(error.message)}{_hint(error)}")
    return problems


def _hint(error: Any) -> str:
    # Pattern and length messages show a regex or a number; the schema says what is meant.
    if error.validator in {"pattern", "not", "minLength", "maxLength"}:
        description = error.schema.get("description") if isinstance(error.schema, dict) else None
        if description:
            return f" ({description.rstrip('.')})"
    return ""


def _short(message: str) -> str:
    # jsonschema repeats huge instances verbatim; the path already says which one.
    return message if len(message) <= 200 else message[:197] + "..."


def select_configs(entries: Sequence[Mapping[str, Any]]) -> list[OpaqueConfig]:
    """Our driver's opaque entries, class ones first, each validated against the schema."""
    ours: list[tuple[int, OpaqueConfig]] = []
    problems: list[str] = []
    for position, entry in enumerate(entries):
        opaque = entry.get("opaque") if isinstance(entry, Mapping) else None
        if not isinstance(opaque, Mapping) or opaque.get("driver") != DRIVER_NAME:
            continue  # another driver's config, or a config type that cannot be ours
        source = str(entry.get("source", "FromClaim"))
        label = f"config[{position}] ({source})"
        parameters = opaque.get("parameters")
        problems.extend(schema_problems(parameters, label))
        requests = tuple(str(r) for r in entry.get("requests") or ())
        rank = 0 if source == "FromClass" else 1
        params = parameters if isinstance(parameters, Mapping) else {}
        ours.append((rank, OpaqueConfig(label=label, requests=requests, parameters=params)))
    if problems:
        raise ConfigError(problems)
    return [config for _, config in sorted(ours, key=lambda pair: pair[0])]


def config_for(request: str, configs: Iterable[OpaqueConfig]) -> DeviceConfig:
    """Merge the configs that apply to `request` (later wins per key) and check their meaning."""
    merged: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    origin: dict[str, str] = {}
    for config in configs:
        if not config.applies_to(request):
            continue
        for section in SECTIONS:
            for key, value in (config.parameters.get(section) or {}).items():
                merged[section][key] = value
                origin[f"{section}.{key}"] = config.label
    problems = _meaning_problems(merged, origin)
    if problems:
        raise ConfigError(problems)
    return _to_device_config(merged)


def _meaning_problems(
    merged: Mapping[str, Mapping[str, Any]], origin: Mapping[str, str]
) -> list[str]:
    device, interface = merged["device"], merged["interface"]
    problems: list[str] = []

    def report(field: str, reason: str) -> None:
        problems.append(
            f"{origin.get(field.split('[', maxsplit=1)[0], 'config')}.{field}: {reason}"
        )

    for field, section in (("device.parent", device), ("interface.name", interface)):
        name = section.get(field.split(".")[1])
        if name is not None and (why := ifname_problem(name)):
            report(field, f"{name!r} {why}")
    if (mac := interface.get("mac")) is not None and (why := mac_problem(mac)):
        report("interface.mac", f"{mac!r} {why}")
    families: set[int] = set()
    for i, text in enumerate(interface.get("addresses", ())):
        try:
            families.add(ipaddress.ip_interface(text).version)
        except ValueError:
            report(
                f"interface.addresses[{i}]", f"{text!r} is not a CIDR address like 192.0.2.10/24"
            )
    routes_origin = origin.get("interface.routes", "config")
    for i, route in enumerate(interface.get("routes", ())):
        path = f"{routes_origin}.interface.routes[{i}]"
        problems.extend(_route_problems(route, path, families))
    endpoints_origin = origin.get("mptcp.endpoints", "config")
    addresses = _interface_ips(interface.get("addresses", ()))
    claimed: set[str] = set()
    for i, endpoint in enumerate(merged["mptcp"].get("endpoints", ())):
        path = f"{endpoints_origin}.mptcp.endpoints[{i}]"
        problems.extend(_endpoint_problems(endpoint, path, addresses))
        # The kernel keeps one endpoint per address: a second one would be silently dropped.
        mine = {endpoint["address"]} if "address" in endpoint else (addresses or set())
        for address in sorted(mine & claimed):
            problems.append(f"{path}: {address} already has an endpoint (one per address)")
        claimed |= mine
    return problems


def _interface_ips(addresses: Iterable[str]) -> set[str] | None:
    """The plain IPs of the interface, or None if an address did not parse (reported apart)."""
    try:
        return {str(ipaddress.ip_interface(a).ip) for a in addresses}
    except ValueError:
        return None


def _endpoint_problems(
    endpoint: Mapping[str, Any], path: str, addresses: set[str] | None
) -> list[str]:
    problems = []
    flags = set(endpoint["flags"])
    if {"signal", "fullmesh"} <= flags:
        problems.append(f"{path}.flags: signal and fullmesh exclude each other (kernel rule)")
    if "port" in endpoint and "signal" not in flags:
        problems.append(f"{path}.port: only a signal endpoint has a port")
    text = endpoint.get("address")
    if text is None:  # every interface address; the kind may assign them (checked at planning)
        return problems
    try:
        address = str(ipaddress.ip_address(text))
    except ValueError:
        return [*problems, f"{path}.address: {text!r} is not an IP address (no prefix)"]
    if addresses and address not in addresses:  # none configured: checked at planning
        problems.append(f"{path}.address: {address} is not one of interface.addresses")
    return problems


def _route_problems(route: Mapping[str, Any], path: str, families: set[int]) -> list[str]:
    try:
        destination = ipaddress.ip_network(route["to"], strict=True)
    except ValueError as exc:
        return [f"{path}.to: {route['to']!r} is not a network like 198.51.100.0/24 ({exc})"]
    if families and destination.version not in families:
        return [
            f"{path}.to: IPv{destination.version} route but no IPv{destination.version} address"
        ]
    via = route.get("via")
    if via is None:
        return []
    try:
        gateway = ipaddress.ip_address(via)
    except ValueError:
        return [f"{path}.via: {via!r} is not an IP address"]
    if gateway.version != destination.version:
        return [f"{path}.via: {via} is IPv{gateway.version} but 'to' is IPv{destination.version}"]
    return []


def _to_device_config(merged: Mapping[str, Mapping[str, Any]]) -> DeviceConfig:
    device, interface = merged["device"], merged["interface"]
    rdma = device.get("rdma") or {}
    char_devices = rdma.get("charDevices")
    return DeviceConfig(
        kind=DeviceKind(device["kind"]) if "kind" in device else None,
        parent=device.get("parent"),
        mode=device.get("mode"),
        vlan=device.get("vlan"),
        trust=device.get("trust"),
        spoofchk=device.get("spoofchk"),
        rdma_char_devices=tuple(char_devices) if char_devices is not None else None,
        interface_name=interface.get("name"),
        mtu=interface.get("mtu"),
        mac=interface["mac"].lower() if "mac" in interface else None,
        addresses=tuple(str(ipaddress.ip_interface(a)) for a in interface.get("addresses", ())),
        routes=tuple(
            RouteConfig(
                to=str(ipaddress.ip_network(r["to"])), via=r.get("via"), table=r.get("table")
            )
            for r in interface.get("routes", ())
        ),
        sysctls=tuple(sorted(interface.get("sysctls", {}).items())),
        mptcp=_mptcp_settings(merged["mptcp"]),
    )


def _mptcp_settings(section: Mapping[str, Any]) -> MptcpSettings | None:
    if not section:
        return None
    limits = section.get("limits") or {}
    return MptcpSettings(
        enabled=section.get("enabled"),
        subflows=limits.get("subflows"),
        add_addr_accepted=limits.get("addAddrAccepted"),
        endpoints=tuple(
            MptcpEndpoint(
                address=str(ipaddress.ip_address(e["address"])) if "address" in e else None,
                flags=tuple(e["flags"]),
                port=e.get("port"),
            )
            for e in section.get("endpoints", ())
        ),
    )
