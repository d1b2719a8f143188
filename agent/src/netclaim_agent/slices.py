"""Pure ResourceSlice construction: devices in, `resource.k8s.io/v1` ResourceSlice dicts out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from netclaim_agent import DRIVER_NAME
from netclaim_agent.model import AttributeValue, InventoryDevice

API_VERSION = "resource.k8s.io/v1"
MAX_DEVICES_PER_SLICE = 128
MAX_STRING_ATTRIBUTE = 64
MAX_ATTRIBUTES_AND_CAPACITIES = 32
SLOTS_CAPACITY = f"{DRIVER_NAME}/slots"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _check_key(key: str) -> None:
    domain, _, ident = key.rpartition("/")
    if not _IDENTIFIER.match(ident) or (
        domain and not (len(domain) <= 63 and _SUBDOMAIN.match(domain))
    ):
        raise ValueError(f"attribute name {key!r} is not a qualified name")


def _attribute(device: str, key: str, value: AttributeValue) -> dict[str, Any]:
    _check_key(key)
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": value}
    if len(value) > MAX_STRING_ATTRIBUTE:
        raise ValueError(f"device {device}: attribute {key} longer than 64 characters")
    return {"string": value}


def attributes_entry(device: str, attributes: Mapping[str, AttributeValue]) -> dict[str, Any]:
    """`devices[].attributes` for these qualified names, checked as the API server would."""
    return {key: _attribute(device, key, value) for key, value in sorted(attributes.items())}


def device_entry(device: InventoryDevice) -> dict[str, Any]:
    """One `spec.devices[]` entry; virtual kinds get consumable `slots` capacity."""
    if not (len(device.name) <= 63 and _DNS_LABEL.match(device.name)):
        raise ValueError(f"device name {device.name!r} is not a DNS label")
    entry: dict[str, Any] = {"name": device.name}
    if device.attributes:
        entry["attributes"] = attributes_entry(device.name, device.attributes)
    if device.kind.virtual:
        entry["allowMultipleAllocations"] = True
        entry["capacity"] = {
            SLOTS_CAPACITY: {
                "value": str(device.slots or 1),
                "requestPolicy": {"default": "1", "validRange": {"min": "1", "step": "1"}},
            }
        }
    if len(entry.get("attributes", {})) + len(entry.get("capacity", {})) > (
        MAX_ATTRIBUTES_AND_CAPACITIES
    ):
        raise ValueError(f"device {device.name}: more than 32 attributes and capacities")
    return entry


def build_slices(
    node_name: str,
    node_uid: str,
    devices: Sequence[InventoryDevice],
    generation: int,
    annotations: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The node's pool as ResourceSlices: sorted devices, ≤128 per slice, at least one slice.
    `annotations` (facts about the node the controller reads) go on every slice."""
    entries = [device_entry(d) for d in sorted(devices, key=lambda d: d.name)]
    names = [e["name"] for e in entries]
    if len(set(names)) != len(names):
        raise ValueError("device names are not unique in the pool")
    chunks = [
        entries[i : i + MAX_DEVICES_PER_SLICE]
        for i in range(0, len(entries), MAX_DEVICES_PER_SLICE)
    ] or [[]]
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "ResourceSlice",
            "metadata": {
                "generateName": f"{node_name}-{DRIVER_NAME}-",
                **({"annotations": dict(annotations)} if annotations else {}),
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Node",
                        "name": node_name,
                        "uid": node_uid,
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "driver": DRIVER_NAME,
                "nodeName": node_name,
                "pool": {
                    "name": node_name,
                    "generation": generation,
                    "resourceSliceCount": len(chunks),
                },
                "devices": chunk,
            },
        }
        for chunk in chunks
    ]


def same_content(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether a stored slice already says what `wanted` says, generation aside.

    Quantities compare by value: the API server stores `1000` as `1k`.
    """
    have, want = existing.get("spec", {}), wanted["spec"]
    return (
        have.get("driver") == want["driver"]
        and have.get("nodeName") == want.get("nodeName")
        and bool(have.get("allNodes")) == bool(want.get("allNodes"))
        and have.get("nodeSelector") == want.get("nodeSelector")
        and have.get("pool", {}).get("name") == want["pool"]["name"]
        and have.get("pool", {}).get("resourceSliceCount") == want["pool"]["resourceSliceCount"]
        and _comparable(have.get("devices") or []) == _comparable(want["devices"])
        and _owners(existing) == _owners(wanted)
        and _our_annotations(existing) == _our_annotations(wanted)
    )


def _our_annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    found = obj.get("metadata", {}).get("annotations") or {}
    return {k: v for k, v in found.items() if k.startswith(f"{DRIVER_NAME}/")}


_SUFFIXES: dict[str, Decimal | int] = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "m": Decimal("0.001"),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def _quantity(text: str) -> Decimal | str:
    """A Kubernetes quantity's value, or the text itself when it is none."""
    match = _QUANTITY.match(text)
    if not match or match.group(2) not in _SUFFIXES:
        return text
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]
    except InvalidOperation:
        return text


def _comparable(devices: list[Any]) -> list[Any]:
    """Devices with every capacity quantity (value, default, range, values) as a number."""

    def quantities(node: Any) -> Any:
        if isinstance(node, str):
            return _quantity(node)
        if isinstance(node, list):
            return [quantities(item) for item in node]
        if isinstance(node, dict):
            return {key: quantities(value) for key, value in node.items()}
        return node

    return [
        {**device, "capacity": quantities(device["capacity"])} if "capacity" in device else device
        for device in devices
    ]


def _owners(obj: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (o.get("apiVersion"), o.get("kind"), o.get("name"), o.get("uid"), bool(o.get("controller")))
        for o in obj.get("metadata", {}).get("ownerReferences") or []
    )
