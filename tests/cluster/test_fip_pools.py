"""FloatingIPPools published as network-attached slices; the real scheduler hands out the
addresses: distinct per claim, a specific one by CEL, none twice."""

from __future__ import annotations

from typing import Any

from kube import Kube, busybox_pod
from workload import fip_claim

from netclaim_agent.fip.pool_publisher import PoolPublisher


def allocated_ip(kube: Kube, name: str, namespace: str) -> str | None:
    claim = kube.get("resource.k8s.io/v1", "ResourceClaim", name, namespace) or {}
    results = ((claim.get("status") or {}).get("allocation") or {}).get("devices", {}).get(
        "results"
    ) or []
    return str(results[0]["device"]) if results else None


def test_pool_addresses_are_handed_out_by_the_scheduler(
    kube: Kube, namespace: str, make_pool: Any, publisher: PoolPublisher, fip_class: str
) -> None:
    pool = make_pool("198.51.100.0/29")
    outcome = next(o for o in publisher.reconcile_all() if o.name == pool)
    assert (outcome.ready, outcome.size, outcome.allocated, outcome.free) == (True, 6, 0, 6)
    slices = [
        s.to_dict()
        for s in kube.resource("resource.k8s.io/v1", "ResourceSlice").get().items
        if s.spec.pool.name == f"floating-ip/{pool}"
    ]
    assert [len(s["spec"]["devices"]) for s in slices] == [6]
    assert slices[0]["spec"]["allNodes"] is True

    for name in ("a", "b"):
        kube.create(fip_claim(name, namespace, fip_class))
        kube.create(
            busybox_pod(
                f"pod-{name}",
                namespace,
                resourceClaims=[{"name": "fip", "resourceClaimName": name}],
            )
        )
    got = {
        name: kube.wait_for(
            f"claim {name} allocated", lambda n=name: allocated_ip(kube, n, namespace), 60
        )
        for name in ("a", "b")
    }
    assert got["a"] != got["b"] and all(d.startswith("fip-198-51-100-") for d in got.values())

    # A third claim pinned to an address another claim holds: the pod waits, and says why.
    taken = got["a"].removeprefix("fip-").replace("-", ".")
    kube.create(fip_claim("c", namespace, fip_class, ip=taken))
    kube.create(
        busybox_pod("pod-c", namespace, resourceClaims=[{"name": "fip", "resourceClaimName": "c"}])
    )

    def unschedulable() -> str:
        events = kube.resource("v1", "Event").get(
            namespace=namespace, field_selector="involvedObject.name=pod-c"
        )
        return "\n".join(e.message or "" for e in events.items if e.reason == "FailedScheduling")

    message = kube.wait_for("pod-c FailedScheduling", unschedulable, 60)
    assert "claim" in message, message
    assert allocated_ip(kube, "c", namespace) is None

    outcome = next(o for o in publisher.reconcile_all() if o.name == pool)
    assert (outcome.size, outcome.allocated, outcome.free) == (6, 2, 4)
    stored = kube.get("netclaim.io/v1alpha1", "FloatingIPPool", pool)
    assert stored is not None
    assert {k: stored["status"][k] for k in ("size", "allocated", "free")} == {
        "size": 6, "allocated": 2, "free": 4,
    }  # fmt: skip


def test_overlapping_pools_and_node_addresses_are_refused(
    kube: Kube, make_pool: Any, publisher: PoolPublisher
) -> None:
    first = make_pool("203.0.113.0/28")
    second = make_pool("203.0.113.8/29")
    on_node = make_pool("127.0.0.0/30")
    outcomes = {o.name: o for o in publisher.reconcile_all()}
    # The older pool keeps its addresses (same second: the name decides); the other is refused.
    [kept] = [name for name in (first, second) if outcomes[name].ready]
    [refused] = {first, second} - {kept}
    assert outcomes[refused].reason == "OverlapsPool"
    assert (outcomes[on_node].ready, outcomes[on_node].reason) == (False, "ContainsNodeAddress")
    stored = kube.get("netclaim.io/v1alpha1", "FloatingIPPool", refused)
    assert stored is not None
    [ready] = stored["status"]["conditions"]
    assert (ready["status"], ready["reason"]) == ("False", "OverlapsPool")
    assert kept in ready["message"]
    devices = [
        d.name
        for s in kube.resource("resource.k8s.io/v1", "ResourceSlice").get().items
        if s.spec.pool.name == f"floating-ip/{refused}"
        for d in s.spec.devices or []
    ]
    assert devices == [], "a refused pool offers nothing"
