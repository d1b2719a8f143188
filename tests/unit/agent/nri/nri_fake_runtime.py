"""A small stand-in for containerd's NRI side, over a real unix socket.

Its framing is written here with `struct`, independently of `netclaim_agent.nri`, so a
symmetric bug in our codec cannot make both ends agree on a wrong wire format. Outgoing
ttrpc frames are cut into mux chunks of `chunk` bytes (odd sizes on purpose) and several
chunks go out in one write, so the plugin must reassemble across and within chunks.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import Message

from netclaim_agent._proto.nri import api_pb2
from netclaim_agent._proto.ttrpc import request_pb2

PLUGIN_CONN, RUNTIME_CONN = 1, 2
PLUGIN_SERVICE = "nri.pkg.api.v1alpha1.Plugin"
TIMEOUT = 5.0


@dataclass
class Answer:
    code: int
    message: str
    payload: bytes


class RuntimeConnection:
    """One accepted plugin connection: answers RegisterPlugin, calls Plugin methods."""

    def __init__(self, sock: socket.socket, chunk: int) -> None:
        self.sock = sock
        self.chunk = chunk
        self.registrations: list[api_pb2.RegisterPluginRequest] = []
        self.registered = threading.Event()
        self._buffers = {PLUGIN_CONN: bytearray(), RUNTIME_CONN: bytearray()}
        self._pending: dict[int, Future[Answer]] = {}
        self._next_stream = 1
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- calls into the plugin --------------------------------------------------------------
    def call(self, method: str, request: Message, *, timeout: float = TIMEOUT) -> Answer:
        envelope = request_pb2.Request(
            service=PLUGIN_SERVICE,
            method=method,
            payload=request.SerializeToString(),
            timeout_nano=int(2e9),
        )
        return self.call_raw(envelope.SerializeToString(), timeout=timeout)

    def call_raw(self, envelope: bytes, *, timeout: float = TIMEOUT) -> Answer:
        future: Future[Answer] = Future()
        with self._lock:
            stream_id = self._next_stream
            self._next_stream += 2
            self._pending[stream_id] = future
        self.send_frame(PLUGIN_CONN, stream_id, 1, envelope)
        return future.result(timeout)

    def call_ok(self, method: str, request: Message, reply_type: type[Message]) -> Message:
        answer = self.call(method, request)
        assert answer.code == 0, answer.message
        reply = reply_type()
        reply.ParseFromString(answer.payload)
        return reply

    # -- wire -------------------------------------------------------------------------------
    def send_frame(self, conn: int, stream_id: int, kind: int, payload: bytes) -> None:
        data = struct.pack(">IIBB", len(payload), stream_id, kind, 0) + payload
        self.send_mux(conn, data)

    def send_mux(self, conn: int, data: bytes) -> None:
        pieces = [data[i : i + self.chunk] for i in range(0, len(data), self.chunk)]
        wire = b"".join(struct.pack(">II", conn, len(p)) + p for p in pieces)
        self.sock.sendall(wire)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._reader.join(TIMEOUT)

    def _read(self) -> None:
        trunk = bytearray()
        try:
            while data := self.sock.recv(65536):
                trunk += data
                while len(trunk) >= 8:
                    conn, length = struct.unpack_from(">II", trunk)
                    if len(trunk) < 8 + length:
                        break
                    self._buffers[conn] += trunk[8 : 8 + length]
                    del trunk[: 8 + length]
                    self._drain(conn)
        except OSError:
            pass
        finally:
            for future in list(self._pending.values()):
                if not future.done():
                    future.set_exception(ConnectionError("plugin connection closed"))

    def _drain(self, conn: int) -> None:
        buffer = self._buffers[conn]
        while len(buffer) >= 10:
            length, stream_id, kind, _flags = struct.unpack_from(">IIBB", buffer)
            if len(buffer) < 10 + length:
                return
            payload = bytes(buffer[10 : 10 + length])
            del buffer[: 10 + length]
            if conn == PLUGIN_CONN and kind == 2:
                self._answered(stream_id, payload)
            elif conn == RUNTIME_CONN and kind == 1:
                self._serve_runtime(stream_id, payload)

    def _answered(self, stream_id: int, payload: bytes) -> None:
        response = request_pb2.Response()
        response.ParseFromString(payload)
        with self._lock:
            future = self._pending.pop(stream_id)
        future.set_result(Answer(response.status.code, response.status.message, response.payload))

    def _serve_runtime(self, stream_id: int, payload: bytes) -> None:
        request = request_pb2.Request()
        request.ParseFromString(payload)
        response = request_pb2.Response()
        if (request.service, request.method) == (
            "nri.pkg.api.v1alpha1.Runtime",
            "RegisterPlugin",
        ):
            registration = api_pb2.RegisterPluginRequest()
            registration.ParseFromString(request.payload)
            self.registrations.append(registration)
            response.payload = api_pb2.Empty().SerializeToString()
            self.registered.set()
        else:
            response.status.code = 12
            response.status.message = "unknown"
        self.send_frame(RUNTIME_CONN, stream_id, 2, response.SerializeToString())


class FakeRuntime:
    """Listens on a unix socket in a temp dir, like containerd on /var/run/nri/nri.sock."""

    def __init__(self, path: Path, chunk: int = 7) -> None:
        self.path = path
        self.chunk = chunk
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(4)
        self.listener.settimeout(TIMEOUT)
        self.connections: list[RuntimeConnection] = []

    def accept(self) -> RuntimeConnection:
        sock, _ = self.listener.accept()
        sock.settimeout(None)
        connection = RuntimeConnection(sock, self.chunk)
        self.connections.append(connection)
        assert connection.registered.wait(TIMEOUT), "plugin did not register"
        return connection

    def handshake(self, pods: list[api_pb2.PodSandbox] | None = None) -> RuntimeConnection:
        """Accept, then Configure and Synchronize as containerd does after registration."""
        connection = self.accept()
        configured = connection.call_ok(
            "Configure",
            api_pb2.ConfigureRequest(runtime_name="fake", request_timeout=2000),
            api_pb2.ConfigureResponse,
        )
        assert isinstance(configured, api_pb2.ConfigureResponse)
        connection.call_ok(
            "Synchronize", api_pb2.SynchronizeRequest(pods=pods or []), api_pb2.SynchronizeResponse
        )
        return connection

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.listener.close()


def pod(
    uid: str, netns: str | None = None, name: str = "web", namespace: str = "default"
) -> api_pb2.PodSandbox:
    namespaces = [api_pb2.LinuxNamespace(type="ipc", path="/proc/1/ns/ipc")]
    if netns is not None:
        namespaces.append(api_pb2.LinuxNamespace(type="network", path=netns))
    return api_pb2.PodSandbox(
        id=f"sandbox-{uid}",
        uid=uid,
        name=name,
        namespace=namespace,
        linux=api_pb2.LinuxPodSandbox(namespaces=namespaces),
    )


Call = tuple[str, tuple[object, ...]]


class RecordingHandler:
    """A SandboxHandler that records calls; `fail_uids` make attach_pod raise."""

    def __init__(self, fail_uids: frozenset[str] = frozenset()) -> None:
        self.calls: list[Call] = []
        self.fail_uids = fail_uids
        self._changed = threading.Condition()

    def attach_pod(
        self, pod_uid: str, netns_path: str, pod_name: str = "", pod_namespace: str = ""
    ) -> None:
        self._record("attach", pod_uid, netns_path, pod_name, pod_namespace)
        if pod_uid in self.fail_uids:
            raise RuntimeError(f"no such device for {pod_uid}")

    def detach_pod(self, pod_uid: str, netns_path: str | None) -> None:
        self._record("detach", pod_uid, netns_path)

    def forget_pod(self, pod_uid: str) -> None:
        self._record("forget", pod_uid)

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = TIMEOUT) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self.calls), timeout), self.calls

    def _record(self, verb: str, *args: object) -> None:
        with self._changed:
            self.calls.append((verb, args))
            self._changed.notify_all()
