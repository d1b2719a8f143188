#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: resource_claim
short_description: Manage DRA ResourceClaims for netclaim devices
version_added: 0.1.0
author:
  - netclaim maintainers (@netclaim)
description:
  - Create or delete a V(resource.k8s.io/v1) V(ResourceClaim) that pods share by name.
  - The friendly options build one device request from a DeviceClass, narrowed by CEL selectors,
    with opaque V(netclaim.io) configuration for the interface; or give the whole O(spec).
  - A claim's spec cannot change after creation; see O(force). Labels can change.
  - Kubernetes allocates a claim when the first pod that uses it is scheduled.
options:
  wait:
    description:
      - With O(state=present), wait until the claim is allocated and return its devices.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - netclaim.dra.common_options
  - netclaim.dra.claim_options
  - netclaim.dra.device_options
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
- name: One storage interface with a fixed address, shared by the pods that name the claim
  netclaim.dra.resource_claim:
    name: db-storage
    namespace: databases
    device_class: storage-net
    pod_network: storage
    interface_name: storage0
    addresses: [192.0.2.20/24]

- name: Hold one floating address; wait for the scheduler to allocate it
  netclaim.dra.resource_claim:
    name: vip
    namespace: web
    device_class: floating-ip
    floating_ip: 203.0.113.5
    wait: true
  register: vip

- name: Show where the address went
  ansible.builtin.debug:
    var: vip.devices

- name: A claim written out in full
  netclaim.dra.resource_claim:
    name: two-vfs
    namespace: hpc
    spec:
      devices:
        requests:
          - name: vf
            exactly:
              deviceClassName: fast-vf-numa0
              allocationMode: ExactCount
              count: 2

- name: Delete a claim
  netclaim.dra.resource_claim:
    name: vip
    namespace: web
    state: absent
"""

RETURN = r"""
changed:
  description: Whether the object was (or in check mode would be) created, changed or deleted.
  returned: always
  type: bool
method:
  description:
    - V(create), V(apply), V(replace) (deleted and created again, O(force=true)) or V(delete).
  returned: always
  type: str
  sample: create
result:
  description: The ResourceClaim as the API server returned it (empty after delete).
  returned: always
  type: dict
devices:
  description: Allocated devices, with what the driver reported for each.
  returned: with O(state=present)
  type: list
  elements: dict
  contains:
    request:
      description: Name of the request the device satisfies.
      type: str
    driver:
      description: Driver of the device.
      type: str
    pool:
      description: Pool of the device (the node name for node-local devices).
      type: str
    device:
      description: Device name within the pool.
      type: str
    networkData:
      description: Interface name, IPs and hardware address the driver reported.
      type: dict
  sample:
    - request: net
      driver: netclaim.io
      pool: node-1
      device: veth-0
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
    CLAIM_ARG_SPEC,
    CLAIM_FRIENDLY_OPTIONS,
    COMMON_ARG_SPEC,
    DEVICE_ARG_SPEC,
    WAIT_ARG_SPEC,
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
    reference,
    resource_claim,
)
from ansible_collections.netclaim.dra.plugins.module_utils._views import (
    allocated_devices,
    is_allocated,
)


def argspec():
    return merge_specs(COMMON_ARG_SPEC, CLAIM_ARG_SPEC, DEVICE_ARG_SPEC, WAIT_ARG_SPEC)


def execute_module(module):
    params = module.params
    if params["state"] == "absent":
        return connect(module).absent(
            reference("ResourceClaim", RESOURCE_API_VERSION, params, namespaced=True)
        )
    definition = resource_claim(params)
    result = connect(module).present(
        definition, ready=(is_allocated, "be allocated"), force=params["force"]
    )
    result["devices"] = allocated_devices(result["result"])
    return result


def main():
    module = NetclaimModule(
        argument_spec=argspec(),
        mutually_exclusive=exclusive_with("spec", CLAIM_FRIENDLY_OPTIONS),
        required_if=[("state", "present", ("device_class", "spec"), True)],
    )
    try:
        module.exit_json(**execute_module(module))
    except NetclaimError as e:
        module.fail_from_error(e)


if __name__ == "__main__":
    main()
