"""Device handlers, one module per kind, registered under their `DeviceKind`.

Importing this package registers every handler; `handler_for(kind)` returns one. Handlers take
validated configs and plain records and return plain records: no gRPC, NRI or API code here.
"""

from __future__ import annotations

from netclaim_agent.devices import (  # noqa: F401  (imported for registration)
    dummy,
    floating_ip,
    hostdevice,
    ipoib,
    ipvlan,
    macvlan,
    rdma,
    roce,
    sriov,
    veth,
)
from netclaim_agent.devices.base import (
    DeviceHandler,
    DevicePlan,
    HostFacts,
    HostProbe,
    PlanInput,
    VfPlan,
    handler_for,
    registered_kinds,
)

__all__ = [
    "DeviceHandler",
    "DevicePlan",
    "HostFacts",
    "HostProbe",
    "PlanInput",
    "VfPlan",
    "handler_for",
    "registered_kinds",
]
