"""The node agent's lifecycle: start every part in order, stop them in reverse on SIGTERM.

Order (DESIGN "Node flow"): checkpoint + reconcile, DRA socket, registration socket, NRI
plugin, publishing. The DRA socket exists before kubelet can learn about it, and Prepare
never sees a half-reconciled checkpoint."""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from netclaim_agent import DRIVER_NAME, apiclient
from netclaim_agent.discovery import Inventory
from netclaim_agent.driver import Driver
from netclaim_agent.http import HealthServer
from netclaim_agent.kubelet.core import DraCore
from netclaim_agent.kubelet.plugin import KubeletPlugin, SocketPaths
from netclaim_agent.model import Injection
from netclaim_agent.nri import NriPlugin, PluginConfig
from netclaim_agent.nri.metered import MeteredHandler
from netclaim_agent.podnet.watch import NetworkWatch
from netclaim_agent.publishing import PublishLoop
from netclaim_agent.status import StatusWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeSettings:
    node_name: str
    kubeconfig: str | None
    plugins_dir: Path
    registry_dir: Path
    state_dir: Path
    cdi_dir: Path
    netns_dir: Path
    sysfs_root: Path
    injection: Injection
    nri_socket: Path
    nri_index: str
    metrics_address: str
    metrics_port: int


class NodeAgent:
    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self._stop = threading.Event()

    def run(self) -> int:
        s = self.settings
        # Everything the agent creates (checkpoint, CDI specs, sockets) is root-only.
        os.umask(0o077)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        api = apiclient.load_api_client(s.kubeconfig)
        inventory = Inventory(sysfs_root=s.sysfs_root)
        inventory.refresh()
        networks = NetworkWatch(api)
        driver = Driver(
            node_name=s.node_name,
            fetch_claim=apiclient.ClaimReader(api),
            inventory=inventory.get,
            state_dir=s.state_dir,
            cdi_dir=s.cdi_dir,
            injection=s.injection,
            netns_dir=s.netns_dir,
            sysfs_root=s.sysfs_root,
            networks=networks.get,
            pod_node=apiclient.PodNodeReader(api),
            pool_announce=apiclient.PoolAnnounceReader(api),
        )
        driver.reconcile()
        status = StatusWriter(api)
        status.start()
        plugin = KubeletPlugin(
            DraCore(driver, status.submit),
            SocketPaths(
                dra=s.plugins_dir / DRIVER_NAME / "dra.sock",
                registration=s.registry_dir / f"{DRIVER_NAME}-reg.sock",
            ),
        )
        health: HealthServer | None = None
        nri: NriPlugin | None = None
        publishing = PublishLoop(api, s.node_name, inventory, networks=networks.all)
        networks.subscribe(publishing.wake)
        try:
            networks.start()
            plugin.start()
            if s.injection is Injection.NRI:
                nri = NriPlugin(
                    MeteredHandler(driver),
                    PluginConfig(socket_path=str(s.nri_socket), index=s.nri_index),
                )
                nri.start()
            publishing.start()
            if s.metrics_port >= 0:
                health = HealthServer(lambda: plugin.registered, s.metrics_address, s.metrics_port)
                health.start()
            log.info(
                "netclaim-agent serving node %s (injection %s)", s.node_name, s.injection.value
            )
            self._stop.wait()
        finally:
            log.info("shutting down")
            publishing.stop()
            networks.stop()
            if nri is not None:
                nri.stop()
            plugin.stop()
            status.stop()
            if health is not None:
                health.stop()
        return 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        self._stop.set()
