#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: resource_claim_template
short_description: Manage DRA ResourceClaimTemplates for netclaim devices
version_added: 0.1.0
author:
  - netclaim maintainers (@netclaim)
description:
  - Create or delete a V(resource.k8s.io/v1) V(ResourceClaimTemplate); Kubernetes creates one
    ResourceClaim from it for each pod that names it, so every pod gets its own devices.
  - Takes the same options as M(netclaim.dra.resource_claim) to build the claim spec.
  - A template's spec cannot change after creation; see O(force). Claims already made from it
    are not affected.
options:
  claim_labels:
    description:
      - Labels for the ResourceClaims made from the template.
    type: dict
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - netclaim.dra.common_options
  - netclaim.dra.claim_options
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
- name: Every replica gets its own storage interface
  netclaim.dra.resource_claim_template:
    name: storage-nic
    namespace: databases
    device_class: storage-net
    interface_name: storage0
    claim_labels:
      app: db

- name: Delete the template
  netclaim.dra.resource_claim_template:
    name: storage-nic
    namespace: databases
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
  description: The ResourceClaimTemplate as the API server returned it (empty after delete).
  returned: always
  type: dict
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
    resource_claim_template,
)


def argspec():
    return merge_specs(
        COMMON_ARG_SPEC, CLAIM_ARG_SPEC, DEVICE_ARG_SPEC, claim_labels={"type": "dict"}
    )


def execute_module(module):
    params = module.params
    if params["state"] == "absent":
        return connect(module).absent(
            reference("ResourceClaimTemplate", RESOURCE_API_VERSION, params, namespaced=True)
        )
    definition = resource_claim_template(params)
    return connect(module).present(definition, force=params["force"])


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
