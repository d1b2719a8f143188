"""Serving kubelet: the DRA socket first, then the registration socket that announces it.

Both sockets are root-only. If the registration socket disappears (kubelet deregisters the
plugin when it does), it is recreated, which registers the plugin again."""

from __future__ import annotations

import logging
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc

from netclaim_agent import DRIVER_NAME
from netclaim_agent._proto.kubelet import (
    dra_v1_pb2_grpc,
    dra_v1beta1_pb2_grpc,
    registration_pb2_grpc,
)
from netclaim_agent.kubelet.core import DraCore
from netclaim_agent.kubelet.services import DraV1, DraV1beta1, Registration

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SocketPaths:
    dra: Path = Path(f"/var/lib/kubelet/plugins/{DRIVER_NAME}/dra.sock")
    registration: Path = Path(f"/var/lib/kubelet/plugins_registry/{DRIVER_NAME}-reg.sock")


class SocketError(RuntimeError):
    """A socket could not be served (path in use by something else, directory missing...)."""


def _serve_unix(server: grpc.Server, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise SocketError(f"{path} exists and is not a socket; refusing to replace it")
        path.unlink()  # stale: left by a previous run that did not stop cleanly
    if server.add_insecure_port(f"unix://{path}") == 0:
        raise SocketError(f"cannot listen on {path}")
    server.start()
    path.chmod(0o600)


class KubeletPlugin:
    def __init__(
        self,
        core: DraCore,
        paths: SocketPaths = SocketPaths(),
        watch_interval: float = 1.0,
        workers: int = 8,
    ) -> None:
        self._core = core
        self._paths = paths
        self._watch_interval = watch_interval
        self._workers = workers
        self._dra: grpc.Server | None = None
        self._registration_server: grpc.Server | None = None
        self._registration = Registration(str(paths.dra))
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="reg-socket", daemon=True)
        self._lock = threading.Lock()

    @property
    def registered(self) -> bool:
        return self._registration.registered.is_set()

    def wait_registered(self, timeout: float) -> bool:
        return self._registration.registered.wait(timeout)

    def start(self) -> None:
        self._dra = grpc.server(
            ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="dra")
        )
        dra_v1_pb2_grpc.add_DRAPluginServicer_to_server(DraV1(self._core), self._dra)
        dra_v1beta1_pb2_grpc.add_DRAPluginServicer_to_server(DraV1beta1(self._core), self._dra)
        _serve_unix(self._dra, self._paths.dra)
        log.info("serving DRA v1 and v1beta1 on %s", self._paths.dra)
        self._start_registration()
        self._watcher.start()

    def _start_registration(self) -> None:
        with self._lock:
            if self._registration_server is not None:
                self._registration_server.stop(grace=None)
            self._registration.registered.clear()
            server = grpc.server(ThreadPoolExecutor(max_workers=2, thread_name_prefix="reg"))
            registration_pb2_grpc.add_RegistrationServicer_to_server(self._registration, server)
            _serve_unix(server, self._paths.registration)
            self._registration_server = server
        log.info("registration socket %s created", self._paths.registration)

    def _watch(self) -> None:
        while not self._stop.wait(self._watch_interval):
            if not self._paths.registration.is_socket():
                log.warning(
                    "registration socket %s vanished; registering again", self._paths.registration
                )
                try:
                    self._start_registration()
                except (SocketError, RuntimeError, OSError) as exc:
                    log.error("cannot recreate %s: %s", self._paths.registration, exc)

    def stop(self, grace: float = 5.0) -> None:
        """Stop registration first (kubelet stops sending work), then the DRA service."""
        self._stop.set()
        if self._watcher.is_alive():
            self._watcher.join(timeout=self._watch_interval + 1)
        with self._lock:
            if self._registration_server is not None:
                self._registration_server.stop(grace=1).wait()
                self._registration_server = None
        self._paths.registration.unlink(missing_ok=True)
        if self._dra is not None:
            self._dra.stop(grace=grace).wait()
            self._dra = None
        self._paths.dra.unlink(missing_ok=True)
        log.info("kubelet plugin stopped; sockets removed")
