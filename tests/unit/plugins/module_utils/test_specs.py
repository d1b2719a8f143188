"""Spec builders: friendly options -> Kubernetes objects; errors raised before any API call."""

from __future__ import annotations

import pytest
from ansible_collections.netclaim.dra.plugins.module_utils import _specs as specs
from ansible_collections.netclaim.dra.plugins.module_utils._errors import NetclaimError

DRIVER_SELECTOR = {"cel": {"expression": 'device.driver == "netclaim.io"'}}
KIND = 'device.attributes["netclaim.io"].kind'


def claim_params(**overrides):
    params = {
        "name": "c",
        "namespace": "ns",
        "labels": None,
        "device_class": "net",
        "request_name": "net",
        "count": None,
        "interface_name": None,
        "addresses": None,
        "floating_ip": None,
        "address_class": None,
        "pod_network": None,
        "selectors": None,
        "config": None,
        "spec": None,
    }
    params.update(overrides)
    return params


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (True, "true"),
        (False, "false"),
        (7, "7"),
        ("veth", '"veth"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
    ],
)
def test_cel_literal(value, literal):
    assert specs.cel_literal(value, "f") == literal


def test_cel_literal_rejects_other_types():
    with pytest.raises(NetclaimError, match=r"attributes: 1\.5 is not a string"):
        specs.cel_literal(1.5, "attributes")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("ifName", 'device.attributes["netclaim.io"].ifName'),
        ("resource.kubernetes.io/numaNode", 'device.attributes["resource.kubernetes.io"].numaNode'),
        ("_x1", 'device.attributes["netclaim.io"]._x1'),
    ],
)
def test_attribute_path(name, path):
    assert specs.attribute_path(name, "attributes") == path


@pytest.mark.parametrize(
    "name", ["", "1abc", "if-name", "a" * 33, "Bad.Domain/x", "x/", "/x", "a b", 'x"]']
)
def test_attribute_path_rejects(name):
    with pytest.raises(NetclaimError, match="is not a device attribute name"):
        specs.attribute_path(name, "attributes")


def test_attribute_match_scalar_and_list():
    assert specs.attribute_match("mtu", 9000, "a") == (
        'has(device.attributes["netclaim.io"].mtu) && device.attributes["netclaim.io"].mtu == 9000'
    )
    assert specs.attribute_match("kind", ["veth", "macvlan"], "kinds") == (
        f'has({KIND}) && {KIND} in ["veth", "macvlan"]'
    )
    with pytest.raises(NetclaimError, match="needs at least one value"):
        specs.attribute_match("kind", [], "kinds")


def test_device_selectors_order_and_guards():
    selectors = specs.device_selectors(
        kinds=["veth"],
        pod_network="storage",
        attributes={"virtual": True, "ifName": "eth1"},
        extra=["device.capacity['netclaim.io'].slots.compareTo(quantity('1')) >= 0"],
    )
    expressions = [s["cel"]["expression"] for s in selectors]
    assert selectors[0] == DRIVER_SELECTOR
    assert expressions[1] == f'has({KIND}) && {KIND} in ["veth"]'
    assert 'podNetwork == "storage"' in expressions[2]
    # attributes sorted by name: stable output keeps reruns idempotent
    assert '.ifName == "eth1"' in expressions[3]
    assert ".virtual == true" in expressions[4]
    assert expressions[5].startswith("device.capacity")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": ["SR-IOV"]}, "kinds: 'SR-IOV' is not a device kind name"),
        ({"extra": ["  "]}, "selectors: empty CEL expression"),
        ({"extra": ["true"] * 32}, "selectors: 33 selectors, Kubernetes allows at most 32"),
        ({"attributes": {"kind": 1.0}}, "attributes: 1.0 is not"),
    ],
)
def test_device_selectors_errors(kwargs, message):
    with pytest.raises(NetclaimError, match=message.replace(".", r"\.")):
        specs.device_selectors(**kwargs)


def test_device_class_friendly():
    obj = specs.device_class(
        {
            "name": "storage",
            "labels": {"team": "net"},
            "kinds": ["macvlan"],
            "pod_network": None,
            "attributes": None,
            "selectors": None,
            "config": {"interface": {"mtu": 9000}},
            "spec": None,
        }
    )
    assert obj["apiVersion"] == "resource.k8s.io/v1"
    assert obj["kind"] == "DeviceClass"
    assert obj["metadata"] == {"name": "storage", "labels": {"team": "net"}}
    assert obj["spec"]["selectors"][0] == DRIVER_SELECTOR
    assert obj["spec"]["config"] == [
        {
            "opaque": {
                "driver": "netclaim.io",
                "parameters": {
                    "apiVersion": "netclaim.io/v1alpha1",
                    "kind": "NetworkConfig",
                    "interface": {"mtu": 9000},
                },
            }
        }
    ]


def test_device_class_raw_spec_is_used_as_given():
    spec = {"selectors": [{"cel": {"expression": "true"}}]}
    obj = specs.device_class({"name": "raw", "labels": None, "spec": spec})
    assert obj["spec"] == spec
    assert obj["spec"] is not spec


def test_opaque_config_rejects_foreign_kind():
    with pytest.raises(NetclaimError, match=r"config\.kind: must be 'NetworkConfig'"):
        specs.opaque_config({"kind": "GpuConfig"})
    assert specs.opaque_config({"apiVersion": "netclaim.io/v1alpha1"})["parameters"]["kind"] == (
        "NetworkConfig"
    )


def test_claim_spec_defaults():
    assert specs.claim_spec(claim_params()) == {
        "devices": {
            "requests": [
                {
                    "name": "net",
                    "exactly": {
                        "deviceClassName": "net",
                        "allocationMode": "ExactCount",
                        "count": 1,
                    },
                }
            ]
        }
    }


def test_claim_spec_full():
    spec = specs.claim_spec(
        claim_params(
            count=2,
            pod_network="storage",
            interface_name="storage0",
            addresses=["192.0.2.10/24", "2001:db8::10/64"],
            config={"interface": {"mtu": 9000}},
            selectors=["true"],
        )
    )
    exactly = spec["devices"]["requests"][0]["exactly"]
    assert exactly["count"] == 2
    assert [s["cel"]["expression"] for s in exactly["selectors"]] == [
        'has(device.attributes["netclaim.io"].podNetwork) && '
        'device.attributes["netclaim.io"].podNetwork == "storage"',
        "true",
    ]
    assert spec["devices"]["config"] == [
        {
            "requests": ["net"],
            "opaque": {
                "driver": "netclaim.io",
                "parameters": {
                    "apiVersion": "netclaim.io/v1alpha1",
                    "kind": "NetworkConfig",
                    "interface": {
                        "mtu": 9000,
                        "name": "storage0",
                        "addresses": ["192.0.2.10/24", "2001:db8::10/64"],
                    },
                },
            },
        }
    ]


def test_claim_spec_floating_ip_is_normalised_into_cel():
    spec = specs.claim_spec(claim_params(floating_ip="2001:DB8::5"))
    (selector,) = spec["devices"]["requests"][0]["exactly"]["selectors"]
    assert selector["cel"]["expression"].endswith('.ip == "2001:db8::5"')


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"count": 0}, "count: must be at least 1, got 0"),
        ({"count": -3}, "count: must be at least 1, got -3"),
        (
            {"floating_ip": "10.0.0.1", "count": 2},
            "count: a claim for one floating_ip must have count 1",
        ),
        ({"floating_ip": "10.0.0.300"}, "floating_ip: "),
        ({"floating_ip": '1" || true'}, "floating_ip: "),
        ({"addresses": ["192.0.2.1"]}, "addresses: '192.0.2.1' needs a prefix length"),
        ({"addresses": ["192.0.2.1/33"]}, "addresses: "),
        ({"interface_name": "way-too-long-name0"}, "interface_name: 'way-too-long-name0' is not"),
        ({"interface_name": "a/b"}, "interface_name: 'a/b' is not"),
        (
            {"interface_name": "eth1", "config": {"interface": {"name": "eth2"}}},
            "config.interface.name and the interface_name option disagree",
        ),
        ({"config": {"apiVersion": "v1"}}, "config.apiVersion: must be 'netclaim.io/v1alpha1'"),
    ],
)
def test_claim_spec_errors(overrides, message):
    with pytest.raises(NetclaimError, match=message.replace(".", r"\.").replace("|", r"\|")):
        specs.claim_spec(claim_params(**overrides))


def test_resource_claim_raw_spec():
    raw = {"devices": {"requests": [{"name": "x", "exactly": {"deviceClassName": "y"}}]}}
    obj = specs.resource_claim(claim_params(device_class=None, spec=raw))
    assert obj["spec"] == raw
    assert obj["metadata"] == {"name": "c", "namespace": "ns"}
    with pytest.raises(NetclaimError, match="spec: a ResourceClaimSpec needs a 'devices' mapping"):
        specs.resource_claim(claim_params(device_class=None, spec={"requests": []}))


def test_resource_claim_template_wraps_spec_and_labels():
    obj = specs.resource_claim_template(claim_params(claim_labels={"app": "db"}))
    assert obj["kind"] == "ResourceClaimTemplate"
    assert obj["spec"]["metadata"] == {"labels": {"app": "db"}}
    assert obj["spec"]["spec"]["devices"]["requests"][0]["exactly"]["deviceClassName"] == "net"


def test_reference_is_identity_only():
    assert specs.reference("ResourceClaim", "resource.k8s.io/v1", claim_params(), True) == {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": "c", "namespace": "ns"},
    }


def test_pod_network_maps_options_to_camel_case_and_drops_unset():
    obj = specs.pod_network(
        {
            "name": "storage",
            "labels": None,
            "enabled": True,
            "mtu": 9000,
            "device_selector": {
                "kinds": ["veth"],
                "interface_names": ["eth1"],
                "attributes": None,
                "cel": None,
            },
            "ipam": {
                "ranges": [{"cidr": "192.0.2.0/24", "start": None, "end": None, "exclude": []}],
                "gateway": "192.0.2.1",
                "routes": [{"to": "198.51.100.0/24", "via": None}],
            },
        }
    )
    assert obj["apiVersion"] == "netclaim.io/v1alpha1"
    assert obj["spec"] == {
        "enabled": True,
        "mtu": 9000,
        "deviceSelector": {"kinds": ["veth"], "interfaceNames": ["eth1"]},
        "ipam": {
            "ranges": [{"cidr": "192.0.2.0/24"}],
            "gateway": "192.0.2.1",
            "routes": [{"to": "198.51.100.0/24"}],
        },
    }


def test_label_like_maps_become_strings():
    obj = specs.pod_network(
        {
            "name": "n",
            "labels": {"tier": 1},
            "enabled": True,
            "mtu": None,
            "device_selector": {"attributes": {"virtual": True, "mtu": 9000}},
            "ipam": None,
        }
    )
    assert obj["metadata"]["labels"] == {"tier": "1"}
    assert obj["spec"]["deviceSelector"]["attributes"] == {"virtual": "true", "mtu": "9000"}


def test_pod_network_minimal():
    obj = specs.pod_network(
        {
            "name": "n",
            "labels": None,
            "enabled": False,
            "mtu": None,
            "device_selector": None,
            "ipam": None,
        }
    )
    assert obj["spec"] == {"enabled": False}


def test_floating_ip_pool():
    params = {
        "name": "public",
        "labels": None,
        "cidrs": ["203.0.113.0/28"],
        "excluded_addresses": ["203.0.113.1"],
        "node_selector": {"edge": True},
        "announce": "gratuitousARP",
    }
    assert specs.floating_ip_pool(params)["spec"] == {
        "cidrs": ["203.0.113.0/28"],
        "excludedAddresses": ["203.0.113.1"],
        "nodeSelector": {"edge": "true"},
        "announce": "gratuitousARP",
    }
    params["cidrs"] = None
    with pytest.raises(NetclaimError, match="cidrs: state=present needs at least one CIDR"):
        specs.floating_ip_pool(params)


def class_params(**overrides):
    params = {
        "name": "storage",
        "labels": None,
        "kinds": None,
        "pod_network": "storage",
        "pod_network_addresses": None,
        "attributes": None,
        "selectors": None,
        "config": None,
        "spec": None,
    }
    params.update(overrides)
    return params


def test_network_classes_split_interfaces_from_addresses_and_carry_the_label():
    interfaces = specs.device_class(class_params())
    addresses = specs.device_class(class_params(name="storage-address", pod_network_addresses=True))
    for obj in (interfaces, addresses):
        assert obj["metadata"]["labels"] == {"netclaim.io/pod-network": "storage"}
    nic = [s["cel"]["expression"] for s in interfaces["spec"]["selectors"]]
    ips = [s["cel"]["expression"] for s in addresses["spec"]["selectors"]]
    assert any('!= "network-address"' in e for e in nic)
    assert any('kind == "network-address"' in e for e in ips)
    assert all('podNetwork == "storage"' in " ".join(e) for e in (nic, ips))
    with pytest.raises(NetclaimError, match="pod_network_addresses: needs pod_network"):
        specs.device_class(class_params(pod_network=None, pod_network_addresses=True))


def test_claim_spec_with_address_class_adds_an_address_request():
    spec = specs.claim_spec(claim_params(device_class="storage", address_class="storage-address"))
    requests = spec["devices"]["requests"]
    assert [r["name"] for r in requests] == ["net", "net-address"]
    assert requests[1]["exactly"] == {
        "deviceClassName": "storage-address",
        "allocationMode": "ExactCount",
        "count": 1,
    }
    with pytest.raises(NetclaimError, match="address_class: the network gives one interface"):
        specs.claim_spec(claim_params(address_class="storage-address", count=2))
