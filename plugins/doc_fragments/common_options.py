# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documents COMMON_ARG_SPEC in plugins/module_utils/_args.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  name:
    description:
      - Name of the object.
    type: str
    required: true
  state:
    description:
      - V(present) creates the object or updates it to match the options (server-side apply,
        field manager V(netclaim.dra)).
      - V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  labels:
    description:
      - Labels of the object. Labels set by others are left alone.
    type: dict
notes:
  - Check mode sends the requests with V(dryRun=All), so the API server validates and defaults
    the object exactly as it would for real.
  - Requires the kubernetes Python library (with V(resource.k8s.io/v1) support) on the host
    that runs the module.
"""
