"""Read a ResourceClaim (the API's JSON as a plain dict) into what this driver must prepare."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netclaim_agent import DRIVER_NAME
from netclaim_agent.errors import ClaimError
from netclaim_agent.model import ClaimRef
from netclaim_agent.opaque import DeviceConfig, OpaqueConfig, config_for, select_configs


@dataclass(frozen=True)
class AllocatedDevice:
    """One of our entries in `status.allocation.devices.results`."""

    request: str
    pool: str
    device: str
    share_id: str | None = None
    admin_access: bool = False


@dataclass(frozen=True)
class ClaimAllocation:
    """Our part of an allocated claim, with its configs already schema-checked."""

    ref: ClaimRef
    results: tuple[AllocatedDevice, ...]
    configs: tuple[OpaqueConfig, ...]
    pod_uids: tuple[str, ...]

    def config_for(self, result: AllocatedDevice) -> DeviceConfig:
        """The merged config of `result`'s request (raises ConfigError naming the field)."""
        return config_for(result.request, self.configs)


def read_claim(claim: Mapping[str, Any], ref: ClaimRef) -> ClaimAllocation:
    """Check the claim is the one kubelet named and is allocated; keep only our results."""
    metadata = _mapping(claim.get("metadata"))
    uid = metadata.get("uid")
    if uid != ref.uid:
        raise ClaimError(f"claim {ref}: API returned UID {uid!r}, kubelet asked for {ref.uid!r}")
    status = _mapping(claim.get("status"))
    allocation = status.get("allocation")
    if not isinstance(allocation, Mapping):
        raise ClaimError(f"claim {ref}: status.allocation is missing (claim not allocated)")
    devices = _mapping(allocation.get("devices"))
    results = tuple(
        _allocated(entry, i)
        for i, entry in enumerate(_sequence(devices.get("results"), "results"))
        if isinstance(entry, Mapping) and entry.get("driver") == DRIVER_NAME
    )
    configs = select_configs(_sequence(devices.get("config"), "config"))
    pod_uids = tuple(
        str(entry["uid"])
        for entry in _sequence(status.get("reservedFor"), "reservedFor")
        if isinstance(entry, Mapping) and entry.get("resource") == "pods" and entry.get("uid")
    )
    return ClaimAllocation(ref=ref, results=results, configs=tuple(configs), pod_uids=pod_uids)


def _allocated(entry: Mapping[str, Any], position: int) -> AllocatedDevice:
    missing = [key for key in ("request", "pool", "device") if not entry.get(key)]
    if missing:
        raise ClaimError(
            f"status.allocation.devices.results[{position}]: missing {', '.join(missing)}"
        )
    share_id = entry.get("shareID")
    return AllocatedDevice(
        request=str(entry["request"]),
        pool=str(entry["pool"]),
        device=str(entry["device"]),
        share_id=str(share_id) if share_id else None,
        admin_access=bool(entry.get("adminAccess", False)),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any, what: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ClaimError(f"{what}: expected a list, got {type(value).__name__}")
    return value
