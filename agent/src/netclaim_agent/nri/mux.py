"""The NRI multiplexer: several logical byte streams over one unix-socket connection.

Every chunk travels as `[conn id u32 BE][length u32 BE][payload]`. Chunks are not aligned with
the ttrpc frames inside them, so each logical connection is a plain byte stream (`ByteStream`)
and the ttrpc layer reassembles frames.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from collections import deque

log = logging.getLogger(__name__)

PLUGIN_SERVICE_CONN = 1  # the runtime calls the plugin here: we are the ttrpc server
RUNTIME_SERVICE_CONN = 2  # the plugin calls the runtime here: we are the ttrpc client

HEADER = struct.Struct(">II")
MAX_PAYLOAD = 10 + (4 << 20)  # one whole ttrpc frame, as upstream allows
# Upstream's logical connection refuses a read into a buffer smaller than the chunk, and its
# ttrpc reader asks through a 4 KiB bufio buffer: chunks larger than that can fail there.
SEND_CHUNK = 4096
# Bytes waiting per connection before the peer counts as flooding; counted in bytes, not
# chunks, because a peer may cut a message into many tiny chunks.
MAX_QUEUED_BYTES = 4 * MAX_PAYLOAD
RECV_SIZE = 65536


class MuxError(Exception):
    """The trunk carried something that is not a valid mux stream."""


class MuxDecoder:
    """Cuts `(conn id, payload)` chunks out of trunk bytes that arrive in any split."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def holds_partial_chunk(self) -> bool:
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        chunks = []
        while len(self._buffer) >= HEADER.size:
            conn_id, length = HEADER.unpack_from(self._buffer)
            if length > MAX_PAYLOAD:
                raise MuxError(f"mux chunk of {length} bytes exceeds {MAX_PAYLOAD}")
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            chunks.append((conn_id, bytes(self._buffer[HEADER.size : end])))
            del self._buffer[:end]
        return chunks


def encode_chunks(conn_id: int, data: bytes) -> bytes:
    """data as mux chunks of at most SEND_CHUNK bytes, ready for the trunk."""
    return b"".join(
        HEADER.pack(conn_id, len(piece)) + piece
        for piece in (data[i : i + SEND_CHUNK] for i in range(0, len(data), SEND_CHUNK))
    )


class LogicalConnection:
    """One multiplexed connection: a ByteStream whose reads come from the mux reader thread."""

    def __init__(self, mux: Multiplexer, conn_id: int) -> None:
        self.conn_id = conn_id
        self._mux = mux
        self._chunks: deque[bytes] = deque()
        self._queued_bytes = 0
        self._ended = False
        self._changed = threading.Condition()

    def recv(self) -> bytes:
        """Chunks that arrived before the end are still delivered, then b"" for good."""
        with self._changed:
            self._changed.wait_for(lambda: self._chunks or self._ended)
            if not self._chunks:
                return b""
            chunk = self._chunks.popleft()
            self._queued_bytes -= len(chunk)
            return chunk

    def send(self, data: bytes) -> None:
        if self._ended:
            raise ConnectionError(f"mux connection {self.conn_id} is closed")
        self._mux.send(self.conn_id, data)

    def close(self) -> None:
        """Closing one logical connection ends the whole mux, as losing either side of NRI does."""
        self._mux.close()

    def feed(self, chunk: bytes) -> bool:
        """Called by the mux reader; False when the reader of this connection fell behind."""
        with self._changed:
            if self._queued_bytes + len(chunk) > MAX_QUEUED_BYTES:
                return False
            self._chunks.append(chunk)
            self._queued_bytes += len(chunk)
            self._changed.notify_all()
        return True

    def end(self) -> None:
        with self._changed:
            self._ended = True
            self._changed.notify_all()


class Multiplexer:
    """Owns the trunk socket; a reader thread routes chunks to the opened connections."""

    def __init__(self, trunk: socket.socket, name: str = "nri-mux") -> None:
        self._trunk = trunk
        self._name = name
        self._conns: dict[int, LogicalConnection] = {}
        self._write_lock = threading.Lock()
        self._close_lock = threading.Lock()
        self.closed = threading.Event()
        self._reader: threading.Thread | None = None

    def open(self, conn_id: int) -> LogicalConnection:
        """Open before `start`, so no chunk for this connection is dropped."""
        if conn_id == 0:
            raise ValueError("mux connection id 0 is reserved")
        return self._conns.setdefault(conn_id, LogicalConnection(self, conn_id))

    def start(self) -> None:
        self._reader = threading.Thread(target=self._read_trunk, name=self._name, daemon=True)
        self._reader.start()

    def send(self, conn_id: int, data: bytes) -> None:
        if self.closed.is_set():
            raise ConnectionError("mux is closed")
        wire = encode_chunks(conn_id, data)
        try:
            with self._write_lock:
                self._trunk.sendall(wire)
        except OSError as exc:
            self.close()
            raise ConnectionError(f"mux trunk write failed: {exc}") from exc

    def close(self) -> None:
        with self._close_lock:
            if self.closed.is_set():
                return
            self.closed.set()
        with contextlib.suppress(OSError):  # shutdown wakes our reader out of recv()
            self._trunk.shutdown(socket.SHUT_RDWR)
        self._trunk.close()
        for conn in self._conns.values():
            conn.end()

    def join(self, timeout: float) -> None:
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout)

    def _read_trunk(self) -> None:
        decoder = MuxDecoder()
        try:
            while data := self._trunk.recv(RECV_SIZE):
                for conn_id, payload in decoder.feed(data):
                    self._route(conn_id, payload)
            if decoder.holds_partial_chunk:
                log.warning("nri mux: peer closed in the middle of a chunk")
        except (MuxError, OSError) as exc:
            if not self.closed.is_set():
                log.warning("nri mux: closing: %s", exc)
        finally:
            self.close()

    def _route(self, conn_id: int, payload: bytes) -> None:
        conn = self._conns.get(conn_id)
        if conn is None:
            log.debug(
                "nri mux: dropping %d bytes for unopened connection %d", len(payload), conn_id
            )
        elif payload and not conn.feed(payload):
            raise MuxError(
                f"connection {conn_id} is not reading; over {MAX_QUEUED_BYTES} bytes wait"
            )
