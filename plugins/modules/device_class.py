#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: device_class
short_description: Manage DRA DeviceClasses for netclaim devices
version_added: 0.1.0
author:
  - netclaim maintainers (@netclaim)
description:
  - Create, update or delete a V(resource.k8s.io/v1) V(DeviceClass) that selects devices of the
    V(netclaim.io) driver.
  - The friendly options become CEL selectors, each ANDed with V(device.driver == "netclaim.io");
    O(config) becomes the class's default opaque configuration.
  - Or give the whole O(spec) as the API takes it.
options:
  kinds:
    description:
      - Device kinds to select (device attribute V(netclaim.io/kind)), for example V(veth),
        V(macvlan), V(ipvlan), V(dummy), V(host-device), V(sriov-vf), V(ipoib), V(rdma), V(roce).
    type: list
    elements: str
  attributes:
    description:
      - Device attributes that must match, by name. Names without a domain are the driver's
        (V(ifName) means V(netclaim.io/ifName)); names such as V(resource.kubernetes.io/numaNode)
        keep their domain.
      - A value is a string, integer or boolean; a list means any of its values.
    type: dict
  pod_network_addresses:
    description:
      - With O(pod_network), select the network's addresses instead of its interfaces. A claim
        asks for one interface from the interface class and one address from this class (the
        V(address_class) option of the claim modules does it); the agent puts the address on
        the interface.
      - A class made with O(pod_network) gets the label V(netclaim.io/pod-network), which the
        controller uses to tell waiting pods why the network cannot serve them.
      - Unset means false.
    type: bool
  spec:
    description:
      - The whole V(DeviceClassSpec). Cannot be combined with O(kinds), O(attributes),
        O(pod_network), O(pod_network_addresses), O(selectors) or O(config).
    type: dict
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - netclaim.dra.common_options
  - netclaim.dra.device_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  action_group:
    support: full
    membership:
      - netclaim.dra.dra
  platform:
    platforms: all
requirements:
  - kubernetes >= 24.2.0 (Python library)
"""

EXAMPLES = r"""
- name: Offer veth and macvlan devices of the storage network
  netclaim.dra.device_class:
    name: storage-net
    kinds: [veth, macvlan]
    pod_network: storage
    config:
      interface:
        mtu: 9000

- name: The addresses of the storage network (one per claim, from its IPAM ranges)
  netclaim.dra.device_class:
    name: storage-net-address
    pod_network: storage
    pod_network_addresses: true

- name: SR-IOV VFs on NUMA node 0 only
  netclaim.dra.device_class:
    name: fast-vf-numa0
    kinds: [sriov-vf]
    attributes:
      resource.kubernetes.io/numaNode: 0

- name: A class written out in full
  netclaim.dra.device_class:
    name: any-netclaim
    spec:
      selectors:
        - cel:
            expression: device.driver == "netclaim.io"

- name: Remove a class
  netclaim.dra.device_class:
    name: storage-net
    state: absent
"""

RETURN = r"""
changed:
  description: Whether the object was (or in check mode would be) created, changed or deleted.
  returned: always
  type: bool
method:
  description: V(create), V(apply) or V(delete).
  returned: always
  type: str
  sample: create
result:
  description: The DeviceClass as the API server returned it (empty after delete).
  returned: always
  type: dict
  sample:
    apiVersion: resource.k8s.io/v1
    kind: DeviceClass
    metadata:
      name: storage-net
    spec:
      selectors:
        - cel:
            expression: device.driver == "netclaim.io"
diff:
  description: The object before and after, without status and server bookkeeping.
  returned: in diff mode
  type: dict
error:
  description: The API server's status, reason and each invalid field with its reason.
  returned: on API errors
  type: dict
"""

from ansible_collections.netclaim.dra.plugins.module_utils._args import (
    COMMON_ARG_SPEC,
    DEVICE_ARG_SPEC,
    exclusive_with,
    merge_specs,
)
from ansible_collections.netclaim.dra.plugins.module_utils._client import (
    NetclaimModule,
    connect,
)
from ansible_collections.netclaim.dra.plugins.module_utils._errors import NetclaimError
from ansible_collections.netclaim.dra.plugins.module_utils._specs import (
    RESOURCE_API_VERSION,
    device_class,
    reference,
)


def argspec():
    return merge_specs(
        COMMON_ARG_SPEC,
        DEVICE_ARG_SPEC,
        kinds={"type": "list", "elements": "str"},
        attributes={"type": "dict"},
        pod_network_addresses={"type": "bool"},
        spec={"type": "dict"},
    )


def execute_module(module):
    params = module.params
    if params["state"] == "absent":
        return connect(module).absent(reference("DeviceClass", RESOURCE_API_VERSION, params))
    definition = device_class(params)
    return connect(module).present(definition)


def main():
    module = NetclaimModule(
        argument_spec=argspec(),
        mutually_exclusive=exclusive_with(
            "spec",
            ["kinds", "attributes", "pod_network", "pod_network_addresses", "selectors", "config"],
        ),
    )
    try:
        module.exit_json(**execute_module(module))
    except NetclaimError as e:
        module.fail_from_error(e)


if __name__ == "__main__":
    main()
