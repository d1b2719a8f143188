"""Discovery: which network devices this node offers, for the ResourceSlices and for Prepare.

Netdevs come from rtnetlink, SR-IOV/RDMA/IPoIB facts from sysfs (root configurable). The
node's default-route links, bridges and their ports, and the agent's own links are never offered.
"""

from __future__ import annotations

from netclaim_agent.discovery.build import DEFAULT_SLOTS, discover
from netclaim_agent.discovery.inventory import Inventory
from netclaim_agent.discovery.names import device_name

__all__ = ["DEFAULT_SLOTS", "Inventory", "device_name", "discover"]
