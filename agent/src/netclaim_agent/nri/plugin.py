"""The `netclaim` NRI plugin: connects to the runtime, registers, serves pod events, reconnects.

Everything runs on daemon threads, so the plugin sits next to the kubelet gRPC server in one
process: `start()` returns at once, `stop()` ends the session and joins the threads.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from dataclasses import dataclass

from netclaim_agent._proto.nri import api_pb2
from netclaim_agent.nri import mux, ttrpc
from netclaim_agent.nri.hooks import RUNTIME_SERVICE, PodHooks
from netclaim_agent.nri.sandbox import SandboxHandler

log = logging.getLogger(__name__)

DEFAULT_SOCKET = "/var/run/nri/nri.sock"
JOIN_TIMEOUT = 5.0


@dataclass(frozen=True)
class PluginConfig:
    socket_path: str = DEFAULT_SOCKET
    name: str = "netclaim"
    index: str = "10"  # two digits; the runtime calls plugins in ascending index order
    connect_timeout: float = 2.0
    registration_timeout: float = 5.0  # the runtime's own default
    backoff_initial: float = 0.5
    backoff_max: float = 30.0

    def __post_init__(self) -> None:
        # The runtime refuses other names and indexes; fail at construction, not on the node.
        if not re.fullmatch(r"[A-Za-z0-9_.+-]+", self.name):
            raise ValueError(f"NRI plugin name {self.name!r} must match [A-Za-z0-9_.+-]+")
        if not re.fullmatch(r"[0-9]{2}", self.index):
            raise ValueError(f"NRI plugin index {self.index!r} must be two digits")


class NriPlugin:
    """One connection to the runtime at a time; start/stop are safe from any thread."""

    def __init__(self, handler: SandboxHandler, config: PluginConfig | None = None) -> None:
        self.config = config or PluginConfig()
        self._hooks = PodHooks(handler)
        self._dispatcher = ttrpc.Dispatcher()
        self._hooks.register(self._dispatcher)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._registered = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._mux: mux.Multiplexer | None = None
        self.registrations = 0  # how many sessions registered; tests and health read it

    def start(self) -> None:
        with self._lock:
            if self._supervisor is not None:
                raise RuntimeError("NRI plugin already started")
            self._stopping.clear()
            self._supervisor = threading.Thread(
                target=self._supervise, name="nri-plugin", daemon=True
            )
            self._supervisor.start()

    def stop(self, timeout: float = JOIN_TIMEOUT) -> None:
        with self._lock:
            self._stopping.set()
            supervisor, self._supervisor = self._supervisor, None
            if self._mux is not None:
                self._mux.close()
        if supervisor is not None:
            supervisor.join(timeout)
        self._hooks.stop(timeout)

    @property
    def registered(self) -> bool:
        return self._registered.is_set()

    def wait_registered(self, timeout: float) -> bool:
        return self._registered.wait(timeout)

    def __enter__(self) -> NriPlugin:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _supervise(self) -> None:
        delay = self.config.backoff_initial
        while not self._stopping.is_set():
            try:
                registered = self._run_session()
            except Exception:  # the supervisor must outlive any bug in one session
                log.exception("nri session failed")
                registered = False
            if registered:
                delay = self.config.backoff_initial
            if self._stopping.wait(delay):
                break
            log.info("nri: reconnecting to %s", self.config.socket_path)
            delay = min(delay * 2, self.config.backoff_max)

    def _run_session(self) -> bool:
        """Connect, register, serve until the connection ends; True if registration worked."""
        try:
            trunk = self._connect()
        except OSError as exc:
            log.warning("nri: cannot connect to %s: %s", self.config.socket_path, exc)
            return False
        trunk_mux = mux.Multiplexer(trunk)
        plugin_conn = trunk_mux.open(mux.PLUGIN_SERVICE_CONN)
        runtime_conn = trunk_mux.open(mux.RUNTIME_SERVICE_CONN)
        with self._lock:
            if self._stopping.is_set():
                trunk_mux.close()
                return False
            self._mux = trunk_mux
        trunk_mux.start()
        server = threading.Thread(
            target=ttrpc.serve, args=(plugin_conn, self._dispatcher), name="nri-server", daemon=True
        )
        server.start()
        client = ttrpc.Client(runtime_conn, name="nri-runtime-client")
        try:
            return self._register_and_wait(client, trunk_mux)
        finally:
            self._registered.clear()
            trunk_mux.close()
            client.close()
            server.join(JOIN_TIMEOUT)
            trunk_mux.join(JOIN_TIMEOUT)
            with self._lock:
                self._mux = None

    def _connect(self) -> socket.socket:
        trunk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            trunk.settimeout(self.config.connect_timeout)
            trunk.connect(self.config.socket_path)
            trunk.settimeout(None)
        except OSError:
            trunk.close()
            raise
        return trunk

    def _register_and_wait(self, client: ttrpc.Client, trunk_mux: mux.Multiplexer) -> bool:
        request = api_pb2.RegisterPluginRequest(
            plugin_name=self.config.name, plugin_idx=self.config.index
        )
        try:
            client.call(
                RUNTIME_SERVICE,
                "RegisterPlugin",
                request,
                api_pb2.Empty,
                timeout=self.config.registration_timeout,
            )
        except (ttrpc.StatusError, TimeoutError, ConnectionError) as exc:
            log.warning(
                "nri: registering as %s-%s failed: %s", self.config.index, self.config.name, exc
            )
            return False
        self.registrations += 1
        self._registered.set()
        log.info("nri: registered as %s-%s", self.config.index, self.config.name)
        trunk_mux.closed.wait()
        log.info("nri: connection to the runtime closed")
        return True
