"""A byte relay between a listening socket and a connect target, each tcp or unix.

An extra node lives in its own network namespace, where 127.0.0.1 is its own loopback. Two
relays give its kubelet and agent the API server at 127.0.0.1:6443 without the API server
listening anywhere but the host's loopback: one in the node's netns (tcp → unix socket file),
one in the host's (unix socket file → tcp). Files cross namespaces; ports do not.

    python -m testbed.relay tcp:127.0.0.1:6443 unix:/run/netclaim-testbed/node-2/api.sock
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

MAX_CONNECTIONS = 256
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _opener(target: str) -> Callable[[], Awaitable[Streams]]:
    kind, _, where = target.partition(":")
    if kind == "unix":
        return lambda: asyncio.open_unix_connection(where)
    host, _, port = where.rpartition(":")
    return lambda: asyncio.open_connection(host, int(port))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()


async def serve(listen: str, target: str) -> None:
    connect = _opener(target)
    slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with slots:
            try:
                upstream_reader, upstream_writer = await connect()
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    kind, _, where = listen.partition(":")
    if kind == "unix":
        Path(where).unlink(missing_ok=True)
        server = await asyncio.start_unix_server(relay, where)
        Path(where).chmod(0o600)
    else:
        host, _, port = where.rpartition(":")
        server = await asyncio.start_server(relay, host, int(port), reuse_address=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(sys.argv[1], sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
