#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: resource_slice_info
short_description: List DRA ResourceSlices and their devices
version_added: 0.1.0
author:
  - netclaim maintainers (@netclaim)
description:
  - List V(resource.k8s.io/v1) V(ResourceSlice) objects, by default those of the V(netclaim.io)
    driver, and their devices in a flat form that is easy to filter in playbooks.
options:
  node:
    description:
      - Only slices of this node (V(spec.nodeName)). Network-attached slices, such as floating-IP
        pools, have no node and are left out when this is set.
    type: str
  driver:
    description:
      - Only slices of this driver.
    type: str
    default: netclaim.io
  pool:
    description:
      - Only slices of this pool.
    type: str
  kind:
    description:
      - Only devices whose V(<driver>/kind) attribute is this, for example V(veth); slices left
        without devices are left out.
    type: str
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
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
- name: All netclaim devices of one node
  netclaim.dra.resource_slice_info:
    node: worker-1
  register: slices

- name: SR-IOV VFs of that node
  netclaim.dra.resource_slice_info:
    node: worker-1
    kind: sriov-vf
  register: vfs

- name: Show their names
  ansible.builtin.debug:
    msg: "{{ vfs.devices | map(attribute='name') | list }}"

- name: Devices of another driver
  netclaim.dra.resource_slice_info:
    driver: gpu.example.com
    kind: gpu
"""

RETURN = r"""
slices:
  description: The matching ResourceSlices as the API server returned them.
  returned: always
  type: list
  elements: dict
devices:
  description: The devices of the matching slices.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Device name, unique within its pool.
      type: str
    driver:
      description: Driver that published the device.
      type: str
    pool:
      description: Pool name.
      type: str
    node:
      description: Node of the slice; null for network-attached slices.
      type: str
    slice:
      description: Name of the ResourceSlice.
      type: str
    attributes:
      description: Attribute values by fully qualified name.
      type: dict
    capacity:
      description: Capacity values by fully qualified name.
      type: dict
    allow_multiple_allocations:
      description: Present and true when several claims may share the device.
      type: bool
  sample:
    - name: veth-0
      driver: netclaim.io
      pool: worker-1
      node: worker-1
      slice: worker-1-netclaim.io-abcde
      attributes:
        netclaim.io/kind: veth
        netclaim.io/ifName: eth1
      capacity: {}
"""

from ansible_collections.netclaim.dra.plugins.module_utils._args import merge_specs
from ansible_collections.netclaim.dra.plugins.module_utils._client import (
    NetclaimModule,
    connect,
)
from ansible_collections.netclaim.dra.plugins.module_utils._errors import NetclaimError
from ansible_collections.netclaim.dra.plugins.module_utils._specs import (
    DRIVER,
    RESOURCE_API_VERSION,
)
from ansible_collections.netclaim.dra.plugins.module_utils._views import select_slices


def argspec():
    return merge_specs(
        node={"type": "str"},
        driver={"type": "str", "default": DRIVER},
        pool={"type": "str"},
        kind={"type": "str"},
    )


def execute_module(module):
    params = module.params
    # Node and driver are server-side field selectors; pool (a selector only from 1.37) and
    # kind (an attribute) are filtered here.
    selectors = ["spec.driver={0}".format(params["driver"])]
    if params.get("node"):
        selectors.append("spec.nodeName={0}".format(params["node"]))
    svc = connect(module)
    resource = svc.resource(
        {"kind": "ResourceSlice", "apiVersion": RESOURCE_API_VERSION, "metadata": {"name": "any"}}
    )
    items = svc.list(resource, field_selector=",".join(selectors))
    slices, devices = select_slices(items, pool=params.get("pool"), kind=params.get("kind"))
    return {"changed": False, "slices": slices, "devices": devices}


def main():
    module = NetclaimModule(argument_spec=argspec())
    try:
        module.exit_json(**execute_module(module))
    except NetclaimError as e:
        module.fail_from_error(e)


if __name__ == "__main__":
    main()
