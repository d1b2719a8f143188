# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documents DEVICE_ARG_SPEC in plugins/module_utils/_args.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  pod_network:
    description:
      - Only devices that belong to this PodNetwork (device attribute V(netclaim.io/podNetwork)).
    type: str
  selectors:
    description:
      - Further CEL expressions a device must satisfy, used as given. They see V(device.driver),
        V(device.attributes) and V(device.capacity).
      - A reference to an attribute a device lacks aborts the allocation, so guard such
        references with the CEL V(has) macro.
    type: list
    elements: str
  config:
    description:
      - "Opaque configuration for the V(netclaim.io) driver, for example
        V({interface: {mtu: 9000}}) or V({device: {kind: macvlan, parent: eth1, mode: bridge}})."
      - V(apiVersion) (V(netclaim.io/v1alpha1)) and V(kind) (V(NetworkConfig)) are added; any other
        value for them fails.
      - The node agent validates the content when it prepares a device.
    type: dict
"""
