# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documents WAIT_ARG_SPEC in plugins/module_utils/_args.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the object reaches the state the module documents for O(wait), or until
        it is gone with O(state=absent).
      - Never waits in check mode.
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait before failing.
    type: int
    default: 120
  wait_sleep:
    description:
      - Seconds between checks (at least 1).
    type: int
    default: 2
"""
