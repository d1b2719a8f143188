"""ttrpc codec, dispatcher, server and client, over a socketpair."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from netclaim_agent._proto.nri import api_pb2
from netclaim_agent._proto.ttrpc import request_pb2
from netclaim_agent.nri import ttrpc
from netclaim_agent.nri.ttrpc import Code, Frame, MessageType

SERVICE = "test.Echo"


class SocketStream:
    """ByteStream on a plain socket, as a stand-in for a mux connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except OSError:
            return b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def echo_dispatcher() -> ttrpc.Dispatcher:
    def echo(request: api_pb2.RegisterPluginRequest) -> api_pb2.RegisterPluginRequest:
        if request.plugin_name == "refuse":
            raise ttrpc.StatusError(Code.INVALID_ARGUMENT, "refused")
        if request.plugin_name == "crash":
            raise KeyError("bug")
        if request.plugin_name == "huge":
            return api_pb2.RegisterPluginRequest(plugin_name="x" * (4 << 20))
        return api_pb2.RegisterPluginRequest(plugin_name=request.plugin_name.upper())

    dispatcher = ttrpc.Dispatcher()
    dispatcher.register(SERVICE, "Echo", api_pb2.RegisterPluginRequest, echo)
    return dispatcher


@pytest.fixture
def served() -> Iterator[tuple[socket.socket, threading.Thread]]:
    """A running server; the test gets the raw client socket and the server thread."""
    ours, theirs = socket.socketpair()
    thread = threading.Thread(target=ttrpc.serve, args=(SocketStream(theirs), echo_dispatcher()))
    thread.start()
    yield ours, thread
    ours.close()
    thread.join(5)
    assert not thread.is_alive()


def request(method: str, payload: bytes, service: str = SERVICE) -> bytes:
    return request_pb2.Request(service=service, method=method, payload=payload).SerializeToString()


def read_response(sock: socket.socket) -> tuple[int, request_pb2.Response]:
    sock.settimeout(5)
    header = b""
    while len(header) < 10:
        header += sock.recv(10 - len(header))
    length, stream_id, kind, _ = struct.unpack(">IIBB", header)
    assert kind == MessageType.RESPONSE
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    response = request_pb2.Response()
    response.ParseFromString(body)
    return stream_id, response


def test_frame_round_trip_through_byte_by_byte_feed() -> None:
    frames = [Frame(1, 1, 0, b"abc"), Frame(3, 2, 4, b""), Frame(5, 1, 0, bytes(70000))]
    wire = b"".join(map(ttrpc.encode_frame, frames))
    assert wire[:10] == struct.pack(">IIBB", 3, 1, 1, 0)
    decoder = ttrpc.FrameDecoder()
    out = [frame for i in range(len(wire)) for frame in decoder.feed(wire[i : i + 1])]
    assert out == frames
    assert not decoder.holds_partial_frame


def test_oversized_length_is_a_protocol_error_before_buffering() -> None:
    with pytest.raises(ttrpc.ProtocolError):
        ttrpc.FrameDecoder().feed(struct.pack(">IIBB", (4 << 20) + 1, 1, 1, 0))
    with pytest.raises(ValueError):
        ttrpc.encode_frame(Frame(1, 1, 0, bytes((4 << 20) + 1)))


@pytest.mark.parametrize(
    ("name", "code", "text"),
    [
        ("ok", Code.OK, ""),
        ("refuse", Code.INVALID_ARGUMENT, "refused"),
        ("crash", Code.UNKNOWN, "KeyError"),
    ],
)
def test_dispatch_outcomes(name: str, code: int, text: str) -> None:
    payload = api_pb2.RegisterPluginRequest(plugin_name=name).SerializeToString()
    response = echo_dispatcher().dispatch(
        request_pb2.Request(service=SERVICE, method="Echo", payload=payload)
    )
    assert response.status.code == code
    assert text in response.status.message


def test_unknown_method_and_garbage_payload() -> None:
    dispatcher = echo_dispatcher()
    unknown = dispatcher.dispatch(request_pb2.Request(service=SERVICE, method="Nope"))
    assert unknown.status.code == Code.UNIMPLEMENTED
    garbage = dispatcher.dispatch(
        request_pb2.Request(service=SERVICE, method="Echo", payload=b"\xff\xff\xff")
    )
    assert garbage.status.code == Code.INVALID_ARGUMENT


def test_server_answers_bad_envelopes_and_keeps_serving(
    served: tuple[socket.socket, threading.Thread],
) -> None:
    sock, _ = served
    sock.sendall(struct.pack(">IIBB", 3, 1, 1, 0) + b"\xff\xff\xff")  # garbage Request
    assert read_response(sock)[1].status.code == Code.INVALID_ARGUMENT
    sock.sendall(ttrpc.encode_frame(Frame(2, 1, 0, request("Echo", b""))))  # even stream id
    assert read_response(sock)[1].status.code == Code.INVALID_ARGUMENT
    sock.sendall(ttrpc.encode_frame(Frame(7, 3, 0, b"data")))  # data frames are ignored
    payload = api_pb2.RegisterPluginRequest(plugin_name="x").SerializeToString()
    sock.sendall(ttrpc.encode_frame(Frame(9, 1, 0, request("Echo", payload))))
    stream_id, response = read_response(sock)
    assert (stream_id, response.status.code) == (9, Code.OK)
    sock.sendall(ttrpc.encode_frame(Frame(9, 1, 0, request("Echo", payload))))  # reused id
    assert read_response(sock)[1].status.code == Code.INVALID_ARGUMENT
    huge = api_pb2.RegisterPluginRequest(plugin_name="huge").SerializeToString()
    sock.sendall(ttrpc.encode_frame(Frame(11, 1, 0, request("Echo", huge))))
    assert read_response(sock)[1].status.code == Code.RESOURCE_EXHAUSTED


@pytest.mark.parametrize(
    "wire",
    [
        struct.pack(">IIBB", 100, 1, 1, 0) + b"short",  # peer closes mid-frame
        struct.pack(">IIBB", 0xFFFFFFFF, 1, 1, 0),  # absurd length
        b"\x00\x00",  # truncated header
    ],
)
def test_server_survives_broken_streams(
    served: tuple[socket.socket, threading.Thread], wire: bytes
) -> None:
    sock, thread = served
    sock.sendall(wire)
    sock.shutdown(socket.SHUT_WR)
    thread.join(5)
    assert not thread.is_alive()


def test_client_round_trip_status_and_timeout() -> None:
    ours, theirs = socket.socketpair()
    server = threading.Thread(target=ttrpc.serve, args=(SocketStream(theirs), echo_dispatcher()))
    server.start()
    client = ttrpc.Client(SocketStream(ours))
    try:
        for name in ("a", "b", "c"):
            answer = client.call(
                SERVICE,
                "Echo",
                api_pb2.RegisterPluginRequest(plugin_name=name),
                api_pb2.RegisterPluginRequest,
                timeout=5,
            )
            assert answer.plugin_name == name.upper()
        with pytest.raises(ttrpc.StatusError) as error:
            client.call(SERVICE, "Nope", api_pb2.Empty(), api_pb2.Empty, timeout=5)
        assert error.value.code == Code.UNIMPLEMENTED
    finally:
        client.close()
        server.join(5)
    with pytest.raises(ConnectionError):
        client.call(SERVICE, "Echo", api_pb2.Empty(), api_pb2.Empty, timeout=1)


def test_client_times_out_and_fails_pending_calls_when_the_peer_goes() -> None:
    ours, theirs = socket.socketpair()
    client = ttrpc.Client(SocketStream(ours))
    with pytest.raises(TimeoutError):
        client.call(SERVICE, "Echo", api_pb2.Empty(), api_pb2.Empty, timeout=0.2)
    result: list[BaseException] = []

    def waiting_call() -> None:
        try:
            client.call(SERVICE, "Echo", api_pb2.Empty(), api_pb2.Empty, timeout=5)
        except (ConnectionError, TimeoutError) as exc:
            result.append(exc)

    caller = threading.Thread(target=waiting_call)
    caller.start()
    theirs.recv(1024)
    theirs.sendall(struct.pack(">IIBB", 50, 3, 2, 0) + b"half")  # closes mid-frame
    theirs.close()
    caller.join(5)
    assert len(result) == 1
    assert isinstance(result[0], ConnectionError)
    client.close()
