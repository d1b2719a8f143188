"""The NRI multiplexer: chunk codec and the threaded demultiplexer on a socketpair."""

from __future__ import annotations

import socket
import struct

import pytest

from netclaim_agent.nri import mux


def chunk(conn_id: int, payload: bytes) -> bytes:
    return struct.pack(">II", conn_id, len(payload)) + payload


def test_decoder_handles_fragmented_and_coalesced_chunks() -> None:
    wire = chunk(1, b"hello") + chunk(2, b"") + chunk(2, b"world" * 1000) + chunk(1, b"!")
    expected = [(1, b"hello"), (2, b""), (2, b"world" * 1000), (1, b"!")]
    for cut in (1, 3, 8, 13, 4096, len(wire)):
        decoder = mux.MuxDecoder()
        got = [c for i in range(0, len(wire), cut) for c in decoder.feed(wire[i : i + cut])]
        assert got == expected, cut
        assert not decoder.holds_partial_chunk


def test_decoder_rejects_oversized_chunk() -> None:
    with pytest.raises(mux.MuxError):
        mux.MuxDecoder().feed(struct.pack(">II", 1, mux.MAX_PAYLOAD + 1))


def test_encode_chunks_stays_within_go_read_buffer() -> None:
    data = bytes(range(256)) * 40  # 10240 bytes
    decoded = mux.MuxDecoder().feed(mux.encode_chunks(7, data))
    assert [len(p) for _, p in decoded] == [4096, 4096, 2048]
    assert {c for c, _ in decoded} == {7}
    assert b"".join(p for _, p in decoded) == data


def opened() -> tuple[mux.Multiplexer, socket.socket]:
    ours, theirs = socket.socketpair()
    multiplexer = mux.Multiplexer(ours)
    multiplexer.open(1)
    multiplexer.open(2)
    multiplexer.start()
    return multiplexer, theirs


def test_routes_chunks_to_their_connection_and_sends_tagged_chunks() -> None:
    multiplexer, peer = opened()
    first, second = multiplexer.open(1), multiplexer.open(2)
    wire = chunk(2, b"to-two") + chunk(9, b"nobody") + chunk(1, b"to-one")
    peer.sendall(wire[:5])
    peer.sendall(wire[5:])
    assert first.recv() == b"to-one"
    assert second.recv() == b"to-two"
    second.send(b"reply")
    assert peer.recv(100) == chunk(2, b"reply")
    peer.close()
    assert first.recv() == b""
    assert first.recv() == b""  # the end stays visible
    assert multiplexer.closed.wait(5)
    with pytest.raises(ConnectionError):
        first.send(b"late")
    multiplexer.join(5)


@pytest.mark.parametrize(
    "wire",
    [
        struct.pack(">II", 1, 0xFFFFFFF0),  # oversized length
        struct.pack(">II", 1, 50) + b"cut short",  # peer closes mid-chunk
        b"\x00\x00\x00",  # truncated header
    ],
)
def test_broken_trunk_ends_every_connection_cleanly(wire: bytes) -> None:
    multiplexer, peer = opened()
    peer.sendall(wire)
    peer.shutdown(socket.SHUT_WR)
    assert multiplexer.open(1).recv() == b""
    assert multiplexer.open(2).recv() == b""
    assert multiplexer.closed.wait(5)
    multiplexer.join(5)
    peer.close()


def test_closing_a_connection_closes_the_trunk() -> None:
    multiplexer, peer = opened()
    multiplexer.open(1).close()
    assert multiplexer.closed.is_set()
    peer.settimeout(5)
    assert peer.recv(10) == b""
    multiplexer.join(5)
    peer.close()
