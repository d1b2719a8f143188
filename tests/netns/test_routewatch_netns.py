"""RouteChanges in a namespace of our own: only default-route changes invalidate the cache."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from netns_helpers import ip

from netclaim_agent.routewatch import RouteChanges
from netclaim_agent.threadns import thread_in_netns


def test_only_default_route_changes_count(make_netns: Callable[[], str]) -> None:
    ns = make_netns()
    ip("link", "add", "w0", "type", "veth", "peer", "name", "w1", netns=ns)
    ip("link", "set", "w0", "up", netns=ns)
    ip("link", "set", "w1", "up", netns=ns)
    ip("addr", "add", "192.0.2.1/24", "dev", "w0", netns=ns)
    watch = RouteChanges()
    with ThreadPoolExecutor(1) as pool:
        # The subscription watches the netns of the thread that first asks.
        def opened() -> bool:
            with thread_in_netns(f"/var/run/netns/{ns}"):
                return watch.changed()

        assert pool.submit(opened).result() is True, "the first look has nothing cached"
    try:
        assert watch.changed() is False
        ip("route", "add", "198.51.100.0/24", "via", "192.0.2.2", netns=ns)
        ip("link", "add", "w2", "type", "veth", "peer", "name", "w3", netns=ns)
        ip("link", "set", "w2", "up", netns=ns)  # brings IPv6 link-local routes
        assert watch.changed() is False, "routes with a prefix do not touch the uplinks"
        ip("route", "add", "default", "via", "192.0.2.2", netns=ns)
        assert watch.changed() is True
        assert watch.changed() is False, "drained"
        ip("route", "del", "default", netns=ns)
        assert watch.changed() is True
    finally:
        watch.close()
