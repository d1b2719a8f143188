"""ttrpc, containerd's small RPC protocol: frame codec, unary server dispatcher and client.

Both ends work on any `ByteStream`, so they run on the NRI multiplexer's logical connections
as well as on a plain socket. Only unary calls exist here; NRI uses no streams.
"""

from __future__ import annotations

import itertools
import logging
import struct
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, TypeVar

from google.protobuf.message import DecodeError, Message

from netclaim_agent._proto.ttrpc import request_pb2

log = logging.getLogger(__name__)

HEADER = struct.Struct(">IIBB")  # length, stream id, message type, flags
MAX_MESSAGE = 4 << 20  # upstream's messageLengthMax, for the data after the header


class MessageType(IntEnum):
    REQUEST = 1
    RESPONSE = 2
    DATA = 3


class Code(IntEnum):
    """The gRPC status codes ttrpc reuses."""

    OK = 0
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    RESOURCE_EXHAUSTED = 8
    UNIMPLEMENTED = 12
    UNAVAILABLE = 14


class ProtocolError(Exception):
    """The byte stream no longer carries valid frames; the connection must be closed."""


class StatusError(Exception):
    """An RPC answered with a non-OK status (raised by handlers and by `Client.call`)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"ttrpc status {code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Frame:
    stream_id: int
    type: int
    flags: int
    payload: bytes


def encode_frame(frame: Frame) -> bytes:
    if len(frame.payload) > MAX_MESSAGE:
        raise ValueError(f"ttrpc message of {len(frame.payload)} bytes exceeds {MAX_MESSAGE}")
    header = HEADER.pack(len(frame.payload), frame.stream_id, frame.type, frame.flags)
    return header + frame.payload


class FrameDecoder:
    """Reassembles frames from chunks cut anywhere, as the NRI mux delivers them."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def holds_partial_frame(self) -> bool:
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= HEADER.size:
            length, stream_id, kind, flags = HEADER.unpack_from(self._buffer)
            if length > MAX_MESSAGE:
                # Checked before buffering: a bogus length must not make us hold 4 GiB.
                raise ProtocolError(f"frame length {length} exceeds {MAX_MESSAGE}")
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            frames.append(Frame(stream_id, kind, flags, bytes(self._buffer[HEADER.size : end])))
            del self._buffer[:end]
        return frames


class ByteStream(Protocol):
    """One direction-pair of bytes: a socket or a multiplexed logical connection."""

    def recv(self) -> bytes:
        """Block for the next chunk; b"" once the peer or `close` ended the stream."""
        ...

    def send(self, data: bytes) -> None:
        """Send all of data as one unit; raise ConnectionError once closed."""
        ...

    def close(self) -> None: ...


class FrameChannel:
    """Frames over a ByteStream: whole frames in, whole frames out, one writer at a time."""

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream
        self._decoder = FrameDecoder()
        self._ready: list[Frame] = []
        self._send_lock = threading.Lock()

    def read(self) -> Frame | None:
        """Next frame, or None at a clean end of stream; ProtocolError on broken framing."""
        while not self._ready:
            chunk = self._stream.recv()
            if not chunk:
                if self._decoder.holds_partial_frame:
                    raise ProtocolError("peer closed the stream in the middle of a frame")
                return None
            self._ready.extend(self._decoder.feed(chunk))
        return self._ready.pop(0)

    def write(self, frame: Frame) -> None:
        data = encode_frame(frame)
        with self._send_lock:
            self._stream.send(data)

    def close(self) -> None:
        self._stream.close()


M = TypeVar("M", bound=Message)
RawHandler = Callable[[bytes], bytes]


class Dispatcher:
    """Maps (service, method) to a handler; turns every outcome into a ttrpc Response."""

    def __init__(self) -> None:
        self._methods: dict[tuple[str, str], RawHandler] = {}

    def register(
        self, service: str, method: str, request_type: type[M], handler: Callable[[M], Message]
    ) -> None:
        def raw(payload: bytes) -> bytes:
            request = request_type()
            try:
                request.ParseFromString(payload)
            except DecodeError as exc:
                raise StatusError(Code.INVALID_ARGUMENT, f"cannot parse {method}: {exc}") from exc
            return handler(request).SerializeToString()

        self._methods[(service, method)] = raw

    def dispatch(self, request: request_pb2.Request) -> request_pb2.Response:
        """Never raises: handler failures become error statuses for the caller."""
        raw = self._methods.get((request.service, request.method))
        if raw is None:
            name = f"{request.service}/{request.method}"
            return _error_response(Code.UNIMPLEMENTED, f"method {name} not implemented")
        try:
            return request_pb2.Response(payload=raw(request.payload))  # status unset = code 0
        except StatusError as exc:
            return _error_response(exc.code, exc.message)
        except Exception as exc:  # a handler bug must answer the caller, not end the server
            log.exception("ttrpc %s/%s failed", request.service, request.method)
            return _error_response(Code.UNKNOWN, f"{type(exc).__name__}: {exc}")


def _error_response(code: int, message: str) -> request_pb2.Response:
    response = request_pb2.Response()
    response.status.code = code
    response.status.message = message
    return response


def serve(stream: ByteStream, dispatcher: Dispatcher) -> None:
    """Answer requests one at a time until the stream ends or breaks; always closes it.

    The NRI runtime calls a plugin one request at a time, so a serial server loses nothing.
    """
    channel = FrameChannel(stream)
    last_stream_id = 0
    try:
        while (frame := channel.read()) is not None:
            if frame.type != MessageType.REQUEST:
                log.debug("ttrpc server: ignoring frame of type %d", frame.type)
                continue
            response = _answer(frame, last_stream_id, dispatcher)
            if frame.stream_id % 2 == 1:
                last_stream_id = max(last_stream_id, frame.stream_id)
            _respond(channel, frame.stream_id, response)
    except (ProtocolError, ConnectionError, OSError) as exc:
        log.warning("ttrpc server: closing connection: %s", exc)
    finally:
        channel.close()


def _respond(channel: FrameChannel, stream_id: int, response: bytes) -> None:
    try:
        channel.write(Frame(stream_id, MessageType.RESPONSE, 0, response))
    except ValueError as exc:  # an answer too large for one frame
        error = _error_response(Code.RESOURCE_EXHAUSTED, str(exc)).SerializeToString()
        channel.write(Frame(stream_id, MessageType.RESPONSE, 0, error))


def _answer(frame: Frame, last_stream_id: int, dispatcher: Dispatcher) -> bytes:
    # Same checks and codes as upstream's server, so a runtime sees familiar errors.
    if frame.stream_id % 2 != 1 or frame.stream_id <= last_stream_id:
        message = f"stream id {frame.stream_id} must be odd and increasing"
        return _error_response(Code.INVALID_ARGUMENT, message).SerializeToString()
    request = request_pb2.Request()
    try:
        request.ParseFromString(frame.payload)
    except DecodeError as exc:
        message = f"cannot parse request: {exc}"
        return _error_response(Code.INVALID_ARGUMENT, message).SerializeToString()
    return dispatcher.dispatch(request).SerializeToString()


class Client:
    """Unary ttrpc client; a reader thread matches responses to calls by stream id."""

    def __init__(self, stream: ByteStream, name: str = "ttrpc-client") -> None:
        self._channel = FrameChannel(stream)
        self._stream_ids = itertools.count(1, 2)  # client-initiated streams are odd
        self._pending: dict[int, Future[request_pb2.Response]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read_responses, name=name, daemon=True)
        self._reader.start()

    def call(
        self, service: str, method: str, request: Message, response_type: type[M], timeout: float
    ) -> M:
        """Send one request and wait for its answer; StatusError, TimeoutError, ConnectionError."""
        future: Future[request_pb2.Response] = Future()
        with self._lock:
            if self._closed:
                raise ConnectionError("ttrpc client is closed")
            stream_id = next(self._stream_ids)
            self._pending[stream_id] = future
        envelope = request_pb2.Request(
            service=service,
            method=method,
            payload=request.SerializeToString(),
            timeout_nano=int(timeout * 1e9),
        )
        try:
            try:
                self._channel.write(
                    Frame(stream_id, MessageType.REQUEST, 0, envelope.SerializeToString())
                )
            except OSError as exc:  # the reader may have closed the socket just now
                raise ConnectionError(f"{service}/{method}: connection lost: {exc}") from exc
            response = future.result(timeout)
        except FutureTimeout as exc:
            raise TimeoutError(f"{service}/{method}: no answer in {timeout:.1f} s") from exc
        finally:
            with self._lock:
                self._pending.pop(stream_id, None)
        if response.status.code != Code.OK:
            raise StatusError(response.status.code, response.status.message)
        answer = response_type()
        try:
            answer.ParseFromString(response.payload)
        except DecodeError as exc:
            raise StatusError(Code.INVALID_ARGUMENT, f"cannot parse {method} answer") from exc
        return answer

    def close(self) -> None:
        self._channel.close()
        self._reader.join(timeout=5)

    def _read_responses(self) -> None:
        try:
            while (frame := self._channel.read()) is not None:
                self._deliver(frame)
        except (ProtocolError, ConnectionError, OSError) as exc:
            log.warning("ttrpc client: closing connection: %s", exc)
        finally:
            self._fail_pending()
            self._channel.close()

    def _deliver(self, frame: Frame) -> None:
        if frame.type != MessageType.RESPONSE:
            return
        with self._lock:  # popped so a duplicate answer finds nothing to resolve twice
            future = self._pending.pop(frame.stream_id, None)
        if future is None:
            log.debug("ttrpc client: answer for unknown stream %d", frame.stream_id)
            return
        response = request_pb2.Response()
        try:
            response.ParseFromString(frame.payload)
        except DecodeError:
            response = _error_response(Code.INVALID_ARGUMENT, "unparseable response envelope")
        future.set_result(response)

    def _fail_pending(self) -> None:
        with self._lock:
            self._closed = True
            pending = list(self._pending.values())
        for future in pending:
            future.set_exception(ConnectionError("ttrpc connection closed before the answer"))
