#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: floating_ip_pool
short_description: Manage netclaim FloatingIPPools
version_added: 0.1.0
author:
  - netclaim maintainers (@netclaim)
description:
  - Create, update or delete a cluster-scoped V(FloatingIPPool) (V(netclaim.io/v1alpha1)).
  - The netclaim controller publishes each address as a device of a network-attached
    ResourceSlice, so the scheduler never gives one address to two claims, and reports the
    pool's size, allocated and free addresses and its V(Ready) condition.
  - The CustomResourceDefinition ships in the collection's V(crds/) directory.
options:
  cidrs:
    description:
      - Address ranges of the pool. Required with O(state=present).
    type: list
    elements: str
  excluded_addresses:
    description:
      - Addresses of the O(cidrs) that are never handed out.
    type: list
    elements: str
  node_selector:
    description:
      - Node labels; only nodes carrying all of them may host the pool's addresses. All nodes
        when not set.
    type: dict
  announce:
    description:
      - How the node that holds an address makes it reachable.
      - Every mode routes the address to the pod on its node (a /32 or /128 host route).
        V(gratuitousARP) also answers ARP (IPv6 proxy NDP) for it on the node's default-route
        link and announces it when it arrives with gratuitous ARP (IPv6 an unsolicited
        neighbour advertisement), for addresses on the nodes' own subnet.
        V(bgp) is for a BGP speaker on the node that exports the host route; V(hostRoute) and
        V(none) add nothing more.
    type: str
    choices: [hostRoute, gratuitousARP, none, bgp]
    default: hostRoute
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
- name: Floating addresses for services that move between nodes
  netclaim.dra.floating_ip_pool:
    name: public
    cidrs: [203.0.113.0/28]
    excluded_addresses: [203.0.113.1]
    node_selector:
      netclaim.io/edge: "true"
    announce: gratuitousARP

- name: Remove the pool
  netclaim.dra.floating_ip_pool:
    name: public
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
  description: The FloatingIPPool as the API server returned it (empty after delete).
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
    floating_ip_pool,
    reference,
)
from ansible_collections.netclaim.dra.plugins.module_utils._views import is_ready


def argspec():
    return merge_specs(
        COMMON_ARG_SPEC,
        WAIT_ARG_SPEC,
        cidrs={"type": "list", "elements": "str"},
        excluded_addresses={"type": "list", "elements": "str"},
        node_selector={"type": "dict"},
        announce={
            "type": "str",
            "default": "hostRoute",
            "choices": ["hostRoute", "gratuitousARP", "none", "bgp"],
        },
    )


def execute_module(module):
    params = module.params
    if params["state"] == "absent":
        return connect(module).absent(reference("FloatingIPPool", CRD_API_VERSION, params))
    definition = floating_ip_pool(params)
    return connect(module).present(definition, ready=(is_ready, "become Ready"))


def main():
    module = NetclaimModule(argument_spec=argspec())
    try:
        module.exit_json(**execute_module(module))
    except NetclaimError as e:
        module.fail_from_error(e)


if __name__ == "__main__":
    main()
