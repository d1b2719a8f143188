# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build Kubernetes objects from the modules' friendly options. Private to this collection.

Pure functions: no API calls, so every invalid combination fails before the cluster is
touched, and unit tests need no cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import json
import re

from ansible_collections.netclaim.dra.plugins.module_utils._errors import NetclaimError

DRIVER = "netclaim.io"
RESOURCE_API_VERSION = "resource.k8s.io/v1"
CRD_API_VERSION = "netclaim.io/v1alpha1"
CONFIG_API_VERSION = "netclaim.io/v1alpha1"
CONFIG_KIND = "NetworkConfig"

MAX_SELECTORS = 32  # DeviceClass and device request limit (resource.k8s.io/v1)
ADDRESS_KIND = "network-address"
"""Device kind of the addresses a PodNetwork publishes (one device per address)."""
NETWORK_LABEL = DRIVER + "/pod-network"

# QualifiedName: optional DNS-subdomain domain, then a C identifier of at most 32 characters.
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_ATTRIBUTE_RE = re.compile(
    r"^(?:(?P<domain>{0}(?:\.{0})*)/)?(?P<ident>[A-Za-z_][A-Za-z0-9_]{{0,31}})$".format(_DNS_LABEL)
)
_KIND_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_IFNAME_RE = re.compile(r"^[^/:\s]{1,15}$")


def cel_literal(value, field):
    """``value`` as a CEL literal. JSON string escapes are valid CEL escapes."""
    # bool first: it is a subclass of int.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    raise NetclaimError("{0}: {1!r} is not a string, integer or boolean".format(field, value))


def attribute_path(name, field):
    """CEL path of device attribute ``name``; unqualified names are the driver's."""
    match = _ATTRIBUTE_RE.match(name or "")
    if not match or len(match.group("domain") or "") > 63:
        raise NetclaimError(
            "{0}: {1!r} is not a device attribute name ([domain/]identifier, "
            "identifier at most 32 characters)".format(field, name)
        )
    domain = match.group("domain") or DRIVER
    return 'device.attributes["{0}"].{1}'.format(domain, match.group("ident"))


def attribute_match(name, value, field):
    """CEL that is true when the attribute exists and equals ``value`` (or is in a list).

    The has() guard matters: a missing attribute is an evaluation error, and an error
    aborts the whole allocation instead of just skipping the device."""
    path = attribute_path(name, field)
    if isinstance(value, (list, tuple)):
        if not value:
            raise NetclaimError("{0}: {1} needs at least one value".format(field, name))
        literals = ", ".join(cel_literal(v, field) for v in value)
        return "has({0}) && {0} in [{1}]".format(path, literals)
    return "has({0}) && {0} == {1}".format(path, cel_literal(value, field))


def device_selectors(kinds=None, pod_network=None, attributes=None, extra=None, ip=None):
    """CEL selectors (ANDed by Kubernetes) for netclaim devices with these properties."""
    expressions = ['device.driver == "{0}"'.format(DRIVER)]
    if kinds:
        for kind in kinds:
            if not _KIND_RE.match(kind or ""):
                raise NetclaimError("kinds: {0!r} is not a device kind name".format(kind))
        expressions.append(attribute_match("kind", list(kinds), "kinds"))
    if pod_network:
        expressions.append(attribute_match("podNetwork", pod_network, "pod_network"))
    if ip:
        expressions.append(attribute_match("ip", ip, "floating_ip"))
    for name in sorted(attributes or {}):
        expressions.append(attribute_match(name, attributes[name], "attributes"))
    for expression in extra or []:
        if not expression or not expression.strip():
            raise NetclaimError("selectors: empty CEL expression")
        expressions.append(expression)
    if len(expressions) > MAX_SELECTORS:
        raise NetclaimError(
            "selectors: {0} selectors, Kubernetes allows at most {1}".format(
                len(expressions), MAX_SELECTORS
            )
        )
    return [{"cel": {"expression": e}} for e in expressions]


def opaque_config(parameters, field="config"):
    """Driver parameters wrapped as our versioned opaque config."""
    params = copy.deepcopy(parameters)
    for key, expected in (("apiVersion", CONFIG_API_VERSION), ("kind", CONFIG_KIND)):
        if params.setdefault(key, expected) != expected:
            raise NetclaimError(
                "{0}.{1}: must be {2!r} (or left out), not {3!r}".format(
                    field, key, expected, params[key]
                )
            )
    return {"driver": DRIVER, "parameters": params}


def metadata(params, namespaced=False):
    meta = {"name": params["name"]}
    if namespaced:
        meta["namespace"] = params["namespace"]
    if params.get("labels"):
        meta["labels"] = _strings(params["labels"])
    return meta


def reference(kind, api_version, params, namespaced=False):
    """The identity of the object a module manages; enough for state=absent."""
    meta = {"name": params["name"]}
    if namespaced:
        meta["namespace"] = params["namespace"]
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def _compact(mapping):
    """Drop unset options so the object carries only what the user asked for."""
    return dict((k, v) for k, v in mapping.items() if v is not None and v not in ([], {}))


def _strings(mapping):
    """Label-like maps hold strings; YAML turns ``true`` and ``9000`` into other types."""
    if not mapping:
        return mapping
    return dict(
        (k, ("true" if v else "false") if isinstance(v, bool) else str(v))
        for k, v in mapping.items()
    )


def device_class(params):
    spec = params.get("spec")
    if spec is None:
        network = params.get("pod_network")
        addresses = params.get("pod_network_addresses")
        if addresses and not network:
            raise NetclaimError("pod_network_addresses: needs pod_network")
        part = []
        if network:
            # A network's addresses carry its podNetwork attribute too: each class takes
            # one side only, so an interface request never gets an address or vice versa.
            part = [
                attribute_match("kind", ADDRESS_KIND, "pod_network_addresses")
                if addresses
                else '!has({0}) || {0} != "{1}"'.format(
                    attribute_path("kind", "kinds"), ADDRESS_KIND
                )
            ]
        spec = {
            "selectors": device_selectors(
                kinds=params.get("kinds"),
                pod_network=network,
                attributes=params.get("attributes"),
                extra=part + list(params.get("selectors") or []),
            )
        }
        if params.get("config"):
            spec["config"] = [{"opaque": opaque_config(params["config"])}]
    meta = metadata(params)
    if params.get("pod_network"):
        # The controller finds the classes of a network by this label, to tell pods waiting
        # on them why the network cannot serve them.
        meta.setdefault("labels", {})[NETWORK_LABEL] = params["pod_network"]
    return {
        "apiVersion": RESOURCE_API_VERSION,
        "kind": "DeviceClass",
        "metadata": meta,
        "spec": copy.deepcopy(spec),
    }


def _interface_config(params):
    """Claim opaque parameters: ``config`` plus the interface shortcuts, which must agree."""
    config = copy.deepcopy(params.get("config") or {})
    shortcuts = {}
    if params.get("interface_name") is not None:
        name = params["interface_name"]
        if not _IFNAME_RE.match(name) or name in (".", ".."):
            raise NetclaimError(
                "interface_name: {0!r} is not a Linux interface name "
                "(1-15 characters, no '/', ':' or whitespace)".format(name)
            )
        shortcuts["name"] = name
    if params.get("addresses"):
        for address in params["addresses"]:
            if "/" not in address:
                raise NetclaimError("addresses: {0!r} needs a prefix length".format(address))
            try:
                ipaddress.ip_interface(address)
            except ValueError as e:
                raise NetclaimError("addresses: {0}".format(e)) from e
        shortcuts["addresses"] = list(params["addresses"])
    if shortcuts:
        interface = config.setdefault("interface", {})
        if not isinstance(interface, dict):
            raise NetclaimError("config.interface: must be a mapping")
        for key, value in shortcuts.items():
            if interface.get(key, value) != value:
                raise NetclaimError(
                    "config.interface.{0} and the {1} option disagree".format(
                        key, "interface_name" if key == "name" else key
                    )
                )
            interface[key] = value
    return config


def claim_spec(params):
    """ResourceClaimSpec from the claim options, or the raw ``spec`` as given."""
    if params.get("spec") is not None:
        return copy.deepcopy(params["spec"])
    count = 1 if params.get("count") is None else params["count"]
    if count < 1:
        raise NetclaimError("count: must be at least 1, got {0}".format(count))
    floating_ip = params.get("floating_ip")
    if floating_ip is not None:
        try:
            floating_ip = str(ipaddress.ip_address(floating_ip))
        except ValueError as e:
            raise NetclaimError("floating_ip: {0}".format(e)) from e
        if count != 1:
            raise NetclaimError("count: a claim for one floating_ip must have count 1")
    request_name = params["request_name"]
    request = {
        "name": request_name,
        "exactly": {
            "deviceClassName": params["device_class"],
            "allocationMode": "ExactCount",
            "count": count,
        },
    }
    # The class already selects our driver; only the claim's own narrowing goes here.
    selectors = device_selectors(
        pod_network=params.get("pod_network"), ip=floating_ip, extra=params.get("selectors")
    )[1:]
    if selectors:
        request["exactly"]["selectors"] = selectors
    devices = {"requests": [request]}
    address_class = params.get("address_class")
    if address_class:
        if count != 1 or params.get("addresses"):
            raise NetclaimError(
                "address_class: the network gives one interface one address; "
                "use count 1 and no addresses"
            )
        devices["requests"].append(
            {
                "name": request_name + "-address",
                "exactly": {
                    "deviceClassName": address_class,
                    "allocationMode": "ExactCount",
                    "count": 1,
                },
            }
        )
    config = _interface_config(params)
    if config:
        devices["config"] = [{"requests": [request_name], "opaque": opaque_config(config)}]
    return {"devices": devices}


def _check_raw_spec(params):
    """The argspec keeps ``spec`` and the friendly options apart; this checks its shape."""
    spec = params.get("spec")
    if spec is not None and not isinstance(spec.get("devices"), dict):
        raise NetclaimError("spec: a ResourceClaimSpec needs a 'devices' mapping")


def resource_claim(params):
    _check_raw_spec(params)
    return {
        "apiVersion": RESOURCE_API_VERSION,
        "kind": "ResourceClaim",
        "metadata": metadata(params, namespaced=True),
        "spec": claim_spec(params),
    }


def resource_claim_template(params):
    _check_raw_spec(params)
    template = {"spec": claim_spec(params)}
    if params.get("claim_labels"):
        template["metadata"] = {"labels": _strings(params["claim_labels"])}
    return {
        "apiVersion": RESOURCE_API_VERSION,
        "kind": "ResourceClaimTemplate",
        "metadata": metadata(params, namespaced=True),
        "spec": template,
    }


def pod_network(params):
    spec = {"enabled": params["enabled"]}
    selector = params.get("device_selector") or {}
    selector = _compact(
        {
            "kinds": selector.get("kinds"),
            "interfaceNames": selector.get("interface_names"),
            "attributes": _strings(selector.get("attributes")),
            "cel": selector.get("cel"),
        }
    )
    if selector:
        spec["deviceSelector"] = selector
    ipam = params.get("ipam") or {}
    ranges = [
        _compact(
            {
                "cidr": r["cidr"],
                "start": r.get("start"),
                "end": r.get("end"),
                "exclude": r.get("exclude"),
            }
        )
        for r in ipam.get("ranges") or []
    ]
    routes = [_compact({"to": r["to"], "via": r.get("via")}) for r in ipam.get("routes") or []]
    ipam = _compact({"ranges": ranges, "gateway": ipam.get("gateway"), "routes": routes})
    if ipam:
        spec["ipam"] = ipam
    if params.get("mtu") is not None:
        spec["mtu"] = params["mtu"]
    return {
        "apiVersion": CRD_API_VERSION,
        "kind": "PodNetwork",
        "metadata": metadata(params),
        "spec": spec,
    }


def floating_ip_pool(params):
    if not params.get("cidrs"):
        raise NetclaimError("cidrs: state=present needs at least one CIDR")
    spec = _compact(
        {
            "cidrs": list(params["cidrs"]),
            "excludedAddresses": params.get("excluded_addresses"),
            "nodeSelector": _strings(params.get("node_selector")),
            "announce": params["announce"],
        }
    )
    return {
        "apiVersion": CRD_API_VERSION,
        "kind": "FloatingIPPool",
        "metadata": metadata(params),
        "spec": spec,
    }
