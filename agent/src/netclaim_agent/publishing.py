"""Keep this node's ResourceSlices in step with what discovery finds.

Publishes once at start, then whenever netlink reports a change (rate-limited by the
inventory's watcher) and at least every `resync` seconds, so a failed publication or a
slice deleted by someone else is repaired without an event."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from kubernetes import client

from netclaim_agent import metrics
from netclaim_agent.discovery import Inventory
from netclaim_agent.model import InventoryDevice
from netclaim_agent.podnet.networks import TAG, UPLINKS_ANNOTATION, NetworkSpec, node_tags
from netclaim_agent.publisher import SlicePublisher

log = logging.getLogger(__name__)


class PublishLoop:
    def __init__(
        self,
        api: client.ApiClient,
        node_name: str,
        inventory: Inventory,
        resync: float = 60.0,
        networks: Callable[[], Sequence[NetworkSpec]] = list,
    ) -> None:
        self._publisher = SlicePublisher(api, node_name)
        self._inventory = inventory
        self._networks = networks
        self._resync = resync
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads = [
            threading.Thread(target=self._publish_loop, name="publish", daemon=True),
            threading.Thread(target=self._watch, name="netlink-watch", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def wake(self) -> None:
        """Republish soon (the PodNetworks changed)."""
        self._wake.set()

    def _watch(self) -> None:
        try:
            self._inventory.watch(self._wake.set, self._stop)
        except Exception:
            log.exception("netlink watch ended; republishing only every %.0f s", self._resync)

    def _publish_loop(self) -> None:
        woken = True  # the agent refreshed the inventory just before starting us
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if not woken:
                    # Only on the periodic resync: a wake-up comes from the watcher, which
                    # has just refreshed the inventory itself.
                    self._inventory.refresh()
                with metrics.timed("publisher", "publish"):
                    self._publisher.publish(
                        tagged(self._inventory.devices(), self._networks()),
                        {UPLINKS_ANNOTATION: ",".join(sorted(self._inventory.uplinks()))},
                    )
            except Exception as exc:
                log.error("publishing ResourceSlices failed (retrying): %s", exc)
            woken = self._wake.wait(self._resync)


def tagged(
    devices: Sequence[InventoryDevice], networks: Sequence[NetworkSpec]
) -> list[InventoryDevice]:
    """Devices with the `podNetwork` attribute of the network each belongs to."""
    tags = node_tags(((d.name, d.attributes) for d in devices), networks)
    return [
        replace(d, attributes={**d.attributes, TAG: tags[d.name]}) if d.name in tags else d
        for d in devices
    ]
