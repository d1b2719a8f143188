"""An MPTCP stream of numbered 8-byte words that the receiver checks in order: the proof that a
connection survives losing one of its paths (shared by the netns and cluster tiers)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PORT = 5201
STREAM_SECONDS = 4.0
CUT_AFTER_SECONDS = 1.5
"""Long enough for the second subflow to join; the stream then runs on without the first."""

SERVER = textwrap.dedent(
    """
    import socket, struct, sys
    IPPROTO_MPTCP = 262
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", int(sys.argv[1])))
    srv.listen(1)
    srv.settimeout(20)
    print("listening", flush=True)
    conn, _ = srv.accept()
    conn.settimeout(20)
    expected, pending = 0, b""
    while True:
        data = conn.recv(65536)
        if not data:
            break
        pending += data
        whole = len(pending) // 8 * 8
        for (number,) in struct.iter_unpack("!Q", pending[:whole]):
            if number != expected:
                print(f"out of order: got {number}, expected {expected}", flush=True)
                sys.exit(3)
            expected += 1
        pending = pending[whole:]
    print(f"received {expected} {len(pending)}", flush=True)
    """
)

CLIENT = textwrap.dedent(
    """
    import socket, struct, sys, time
    IPPROTO_MPTCP = 262
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    sock.settimeout(10)
    sock.connect((sys.argv[1], int(sys.argv[2])))
    deadline = time.monotonic() + float(sys.argv[3])
    sent = 0
    while time.monotonic() < deadline:
        sock.sendall(b"".join(struct.pack("!Q", n) for n in range(sent, sent + 512)))
        sent += 512
        time.sleep(0.002)
    sock.shutdown(socket.SHUT_WR)
    sock.recv(1)
    print(f"sent {sent}", flush=True)
    """
)


@dataclass(frozen=True)
class Delivery:
    sent: int
    """Words the client sent."""
    received: int
    """Words the server received, each in order."""
    leftover: int
    """Bytes of a torn word at the end (0 when every byte arrived)."""


def stream_across_cut(
    server_netns: Sequence[str],
    client_netns: Sequence[str],
    address: str,
    cut: Callable[[], None],
) -> Delivery:
    """Stream from a client to a server at `address`, calling `cut` mid-stream. The netns
    arguments are command prefixes that run a program in that namespace."""
    listener = subprocess.Popen(
        [*server_netns, sys.executable, "-c", SERVER, str(PORT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sender: subprocess.Popen[str] | None = None
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == "listening"
        sender = subprocess.Popen(
            [*client_netns, sys.executable, "-c", CLIENT, address, str(PORT), str(STREAM_SECONDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(CUT_AFTER_SECONDS)
        cut()
        sent_out, sent_err = sender.communicate(timeout=30)
        got_out, got_err = listener.communicate(timeout=30)
    finally:
        for process in (listener, sender):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert sender.returncode == 0, sent_err
    assert listener.returncode == 0, got_out + got_err
    received, leftover = map(int, got_out.split()[1:3])
    return Delivery(int(sent_out.split()[1]), received, leftover)
