# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documents CLAIM_ARG_SPEC in plugins/module_utils/_args.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  namespace:
    description:
      - Namespace of the object.
    type: str
    default: default
  device_class:
    description:
      - DeviceClass the devices are requested from. Required with O(state=present) unless
        O(spec) is given.
    type: str
  request_name:
    description:
      - Name of the device request; pods may name it in V(resources.claims[].request).
    type: str
    default: net
  count:
    description:
      - How many devices to request. Must be at least 1; 1 when not set.
    type: int
  interface_name:
    description:
      - Interface name inside the pod (V(interface.name) of the opaque config).
    type: str
  addresses:
    description:
      - Addresses with prefix length to put on the interface, for example V(192.0.2.10/24)
        (V(interface.addresses) of the opaque config).
    type: list
    elements: str
  floating_ip:
    description:
      - Ask for this one address of a FloatingIPPool (device attribute V(netclaim.io/ip)).
        Needs O(count) of 1.
    type: str
  address_class:
    description:
      - DeviceClass of a PodNetwork's addresses (made by M(netclaim.dra.device_class) with
        its V(pod_network_addresses) option). Adds a request V(<request_name>-address) for
        one address of the network, which the agent puts on the interface with the
        network's gateway routes. Needs O(count) of 1 and no O(addresses).
    type: str
  spec:
    description:
      - The whole V(ResourceClaimSpec) as the API takes it. Cannot be combined with the options
        that build one (O(device_class), O(count), O(interface_name), O(addresses),
        O(floating_ip), O(address_class), O(pod_network), O(selectors), O(config)).
    type: dict
  force:
    description:
      - The spec cannot change once created. With O(force=true) an object whose spec differs is
        deleted and created again; otherwise the module fails and leaves it alone.
    type: bool
    default: false
"""
