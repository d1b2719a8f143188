"""Run the calling thread, and only it, inside another network namespace for a while.

setns(2) with CLONE_NEWNET switches just the calling thread, so a hook thread can work in a
pod's netns while every other thread of the agent stays in the host's. pyroute2's own
`netns=` forks a helper process per handle instead, which in a large threaded process costs
hundreds of milliseconds and runs the agent's signal handlers in the child."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager

from netclaim_agent.errors import DeviceError

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsGone(DeviceError):
    """The network namespace does not exist (any more)."""


def _setns(fd: int, what: str) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise DeviceError(f"cannot enter network namespace {what}: {os.strerror(err)}")


@contextmanager
def thread_in_netns(path: str) -> Iterator[None]:
    """Inside the block, this thread's sockets are created in the netns at `path`."""
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise NetnsGone(f"network namespace {path} does not exist") from exc
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target, path)
        try:
            yield
        finally:
            # Always return: a thread left in a pod's netns would do the next claim's work
            # there. Failing to return is not recoverable for this thread.
            _setns(home, "of the agent (returning from a pod's)")
    finally:
        os.close(target)
        os.close(home)
