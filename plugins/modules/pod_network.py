#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: pod_network
short_description: Manage netclaim PodNetworks
version_added: 0.1.0
author:
  - netclaim maintainers (@netclaim)
description:
  - Create, update or delete a cluster-scoped V(PodNetwork) (V(netclaim.io/v1alpha1)) that says
    which devices belong to a network, how its addresses are assigned, and its MTU.
  - The netclaim controller sets the V(Ready) condition and the nodes that offer the network.
  - The CustomResourceDefinition ships in the collection's V(crds/) directory.
options:
  device_selector:
    description:
      - Which devices belong to the network. All given criteria must match.
    type: dict
    suboptions:
      kinds:
        description:
          - Device kinds, for example V(veth) or V(sriov-vf).
        type: list
        elements: str
      interface_names:
        description:
          - Host interface names (parents or physical functions).
        type: list
        elements: str
      attributes:
        description:
          - Device attributes that must match, by name; values compare in their string form.
        type: dict
      cel:
        description:
          - A further CEL expression over V(device), as in DeviceClass selectors.
        type: str
  ipam:
    description:
      - Address management for interfaces on this network.
    type: dict
    suboptions:
      ranges:
        description:
          - Address ranges to assign from.
        type: list
        elements: dict
        suboptions:
          cidr:
            description:
              - The subnet, for example V(192.0.2.0/24).
            type: str
            required: true
          start:
            description:
              - First address to assign (default the first usable one).
            type: str
          end:
            description:
              - Last address to assign (default the last usable one).
            type: str
          exclude:
            description:
              - Addresses or CIDRs never to assign.
            type: list
            elements: str
      gateway:
        description:
          - Default gateway address for the network.
        type: str
      routes:
        description:
          - Routes to install in the pod through this interface.
        type: list
        elements: dict
        suboptions:
          to:
            description:
              - Destination CIDR.
            type: str
            required: true
          via:
            description:
              - Next hop (default the O(ipam.gateway)).
            type: str
  mtu:
    description:
      - MTU of the interfaces (68 to 65535).
    type: int
  enabled:
    description:
      - V(false) keeps the network defined but offers no new devices.
    type: bool
    default: true
  wait:
    description:
      - With O(state=present), wait for the V(Ready) condition (of the current generation).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - netclaim.dra.common_options
  - netclaim.dra.wait_options
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
- name: Storage network on veth and macvlan devices
  netclaim.dra.pod_network:
    name: storage
    device_selector:
      kinds: [veth, macvlan]
    ipam:
      ranges:
        - cidr: 192.0.2.0/24
          start: 192.0.2.10
          end: 192.0.2.200
          exclude: [192.0.2.50]
      gateway: 192.0.2.1
      routes:
        - to: 198.51.100.0/24
    mtu: 9000
    wait: true
    wait_timeout: 60

- name: Remove it
  netclaim.dra.pod_network:
    name: storage
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
  sample: apply
result:
  description: The PodNetwork as the API server returned it (empty after delete).
  returned: always
  type: dict
duration:
  description: Seconds spent waiting.
  returned: when O(wait=true) waited
  type: float
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
    WAIT_ARG_SPEC,
    merge_specs,
)
from ansible_collections.netclaim.dra.plugins.module_utils._client import (
    NetclaimModule,
    connect,
)
from ansible_collections.netclaim.dra.plugins.module_utils._errors import NetclaimError
from ansible_collections.netclaim.dra.plugins.module_utils._specs import (
    CRD_API_VERSION,
    pod_network,
    reference,
)
from ansible_collections.netclaim.dra.plugins.module_utils._views import is_ready


def argspec():
    return merge_specs(
        COMMON_ARG_SPEC,
        WAIT_ARG_SPEC,
        device_selector={
            "type": "dict",
            "options": {
                "kinds": {"type": "list", "elements": "str"},
                "interface_names": {"type": "list", "elements": "str"},
                "attributes": {"type": "dict"},
                "cel": {"type": "str"},
            },
        },
        ipam={
            "type": "dict",
            "options": {
                "ranges": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "cidr": {"type": "str", "required": True},
                        "start": {"type": "str"},
                        "end": {"type": "str"},
                        "exclude": {"type": "list", "elements": "str"},
                    },
                },
                "gateway": {"type": "str"},
                "routes": {
                    "type": "list",
                    "elements": "dict",
                    "options": {"to": {"type": "str", "required": True}, "via": {"type": "str"}},
                },
            },
        },
        mtu={"type": "int"},
        enabled={"type": "bool", "default": True},
    )


def execute_module(module):
    params = module.params
    if params["state"] == "absent":
        return connect(module).absent(reference("PodNetwork", CRD_API_VERSION, params))
    definition = pod_network(params)
    return connect(module).present(definition, ready=(is_ready, "become Ready"))


def main():
    module = NetclaimModule(argument_spec=argspec())
    try:
        module.exit_json(**execute_module(module))
    except NetclaimError as e:
        module.fail_from_error(e)


if __name__ == "__main__":
    main()
