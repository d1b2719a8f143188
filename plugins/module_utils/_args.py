# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the modules. Private to this collection.

Each dict has a doc fragment of the same stem in plugins/doc_fragments/ (COMMON_ARG_SPEC <->
netclaim.dra.common_options); modules deep-copy the dicts they need with argspec()."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import (
    AUTH_ARG_SPEC,
)

COMMON_ARG_SPEC = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "labels": {"type": "dict"},
}

WAIT_ARG_SPEC = {
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 120},
    "wait_sleep": {"type": "int", "default": 2},
}

DEVICE_ARG_SPEC = {
    "pod_network": {"type": "str"},
    "selectors": {"type": "list", "elements": "str"},
    "config": {"type": "dict"},
}

CLAIM_ARG_SPEC = {
    "namespace": {"type": "str", "default": "default"},
    "device_class": {"type": "str"},
    "request_name": {"type": "str", "default": "net"},
    "count": {"type": "int"},
    "interface_name": {"type": "str"},
    "addresses": {"type": "list", "elements": "str"},
    "floating_ip": {"type": "str"},
    "address_class": {"type": "str"},
    "spec": {"type": "dict"},
    "force": {"type": "bool", "default": False},
}

# Options that describe the claim in friendly terms; each is exclusive with the raw spec.
CLAIM_FRIENDLY_OPTIONS = (
    "device_class",
    "count",
    "interface_name",
    "addresses",
    "floating_ip",
    "address_class",
    "pod_network",
    "selectors",
    "config",
)


def merge_specs(*specs, **extra):
    """The auth options plus deep copies of ``specs`` and then ``extra`` options."""
    merged = copy.deepcopy(AUTH_ARG_SPEC)
    for spec in specs:
        merged.update(copy.deepcopy(spec))
    merged.update(copy.deepcopy(extra))
    return merged


def exclusive_with(option, others):
    """mutually_exclusive pairs: ``option`` against each of ``others``."""
    return [[option, other] for other in others]
