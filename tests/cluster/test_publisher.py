"""SlicePublisher against the real API server: split, owner, no-op republish, generation bump."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kube import Kube
from kubernetes.client import ResourceV1Api

from netclaim_agent.model import DeviceKind, InventoryDevice
from netclaim_agent.publisher import PublishError, SlicePublisher

NODE = "127.0.0.1"
SELECTOR = f"spec.nodeName={NODE},spec.driver=netclaim.io"

pytestmark = pytest.mark.cluster


def _devices(count: int, mtu: int = 1500) -> list[InventoryDevice]:
    found = [
        InventoryDevice(
            name=f"host-nctest{i:04d}",
            kind=DeviceKind.HOST_DEVICE,
            attributes={"kind": "host-device", "ifName": f"nctest{i:04d}", "mtu": mtu},
            ifname=f"nctest{i:04d}",
        )
        for i in range(count - 1)
    ]
    # 1000 slots: the server stores the quantity as "1k", republishing must still be a no-op
    veth = InventoryDevice(
        name="veth", kind=DeviceKind.VETH, attributes={"kind": "veth"}, slots=1000
    )
    return [*found, veth]


@pytest.fixture
def resource_api(kube: Kube) -> Iterator[ResourceV1Api]:
    api = ResourceV1Api(kube.api_client)
    api.delete_collection_resource_slice(field_selector=SELECTOR)
    yield api
    api.delete_collection_resource_slice(field_selector=SELECTOR)


def _slices(api: ResourceV1Api) -> list[Any]:
    return list(api.list_resource_slice(field_selector=SELECTOR).items)


def test_publish_split_noop_and_generation(kube: Kube, resource_api: ResourceV1Api) -> None:
    node = kube.get("v1", "Node", NODE)
    assert node is not None
    publisher = SlicePublisher(kube.api_client, NODE)

    publisher.publish(_devices(300))
    first = _slices(resource_api)
    assert len(first) == 3
    assert sorted(len(s.spec.devices) for s in first) == [44, 128, 128]
    for item in first:
        owner = item.metadata.owner_references[0]
        assert (owner.kind, owner.name, owner.uid, owner.controller) == (
            "Node",
            NODE,
            node["metadata"]["uid"],
            True,
        )
        assert item.spec.pool.name == NODE
        assert item.spec.pool.generation == 1
        assert item.spec.pool.resource_slice_count == 3
    veth = next(d for s in first for d in s.spec.devices if d.name == "veth")
    assert veth.allow_multiple_allocations is True
    assert veth.capacity["netclaim.io/slots"].value in {"1000", "1k"}

    publisher.publish(_devices(300))
    versions = {s.metadata.name: s.metadata.resource_version for s in first}
    assert {s.metadata.name: s.metadata.resource_version for s in _slices(resource_api)} == versions

    publisher.publish(_devices(130, mtu=9000))
    second = _slices(resource_api)
    assert len(second) == 2
    assert {s.spec.pool.generation for s in second} == {2}
    assert {s.spec.pool.resource_slice_count for s in second} == {2}
    assert sum(len(s.spec.devices) for s in second) == 130
    assert {s.metadata.name for s in second} <= set(versions)

    publisher.publish([])
    empty = _slices(resource_api)
    assert len(empty) == 1
    assert not empty[0].spec.devices
    assert empty[0].spec.pool.generation == 3


def test_api_error_carries_the_server_message(kube: Kube) -> None:
    publisher = SlicePublisher(kube.api_client, "nctest-no-such-node")
    with pytest.raises(
        PublishError, match=r'read Node nctest-no-such-node: .*"nctest-no-such-node" not found'
    ):
        publisher.publish(_devices(1))
