#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sriov_numvfs
short_description: Set the number of SR-IOV virtual functions of physical functions
version_added: 0.1.0
author:
  - netclaim maintainers (@netclaim)
description:
  - Sets V(sriov_numvfs) of each physical function (PF) through sysfs.
  - Every PF is checked before anything is written, so a missing PF, a PF without SR-IOV or a
    count above V(sriov_totalvfs) fails the task and changes nothing.
  - The kernel refuses to change a non-zero count to another non-zero count, so the module
    writes V(0) first in that case; a PF whose count is already right is not touched.
  - Writes go straight to the sysfs attribute. Modules such as M(ansible.builtin.copy) write
    a temporary file and rename it, which sysfs rejects.
options:
  devices:
    description:
      - The PFs and their wanted VF counts.
    type: list
    elements: dict
    required: true
    suboptions:
      pf:
        description:
          - The PF, by network interface name (V(ens1f0)) or PCI address (V(0000:3b:00.0)).
        type: str
        required: true
      num_vfs:
        description:
          - Wanted number of VFs; V(0) removes all VFs.
        type: int
        required: true
  sysfs_root:
    description:
      - Where sysfs is mounted. Tests point this at a fake tree.
    type: path
    default: /sys
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - Writing V(sriov_numvfs) only works when the PF's driver supports SR-IOV; the kernel's error
    is reported as is.
"""

EXAMPLES = r"""
- name: Give two PFs their VFs
  netclaim.dra.sriov_numvfs:
    devices:
      - pf: ens1f0
        num_vfs: 8
      - pf: "0000:3b:00.1"
        num_vfs: 4
"""

RETURN = r"""
devices:
  description: What was found and done for each PF, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    pf:
      description: The PF as given.
      type: str
      sample: ens1f0
    device_path:
      description: The PF's PCI device directory in sysfs.
      type: str
      sample: /sys/bus/pci/devices/0000:3b:00.0
    netdev:
      description: The PF's network interface name, or V(null) when it has none.
      type: str
      sample: ens1f0
    total_vfs:
      description: The hardware limit, V(sriov_totalvfs).
      type: int
      sample: 64
    num_vfs_before:
      description: V(sriov_numvfs) before the task.
      type: int
      sample: 0
    num_vfs:
      description: V(sriov_numvfs) after the task (in check mode, what it would be).
      type: int
      sample: 8
"""

import os

from ansible.module_utils.basic import AnsibleModule


class SriovError(Exception):
    """A PF that cannot take the wanted count; the message says what to fix."""


def _read_int(path):
    with open(path) as handle:
        return int(handle.read().strip() or 0)


def _write_int(path, value):
    # One write of the whole number: sysfs attributes take a single write() per open.
    with open(path, "w") as handle:
        handle.write("%d\n" % value)


def _locate(sysfs_root, pf):
    """Return the PF's PCI device directory, or raise SriovError."""
    by_name = os.path.join(sysfs_root, "class", "net", pf, "device")
    by_address = os.path.join(sysfs_root, "bus", "pci", "devices", pf)
    for candidate in (by_name, by_address):
        if os.path.isdir(candidate):
            return os.path.realpath(candidate)
    raise SriovError(
        "PF %r not found: neither %s nor %s exists; give an existing interface name or PCI address"
        % (pf, by_name, by_address)
    )


def _netdev(device_path):
    net_dir = os.path.join(device_path, "net")
    names = sorted(os.listdir(net_dir)) if os.path.isdir(net_dir) else []
    return names[0] if names else None


def inspect(sysfs_root, wanted):
    """Check every PF; return plans or raise SriovError listing every problem."""
    plans, problems, seen = [], [], {}
    for item in wanted:
        pf, num_vfs = item["pf"], item["num_vfs"]
        try:
            if num_vfs < 0:
                raise SriovError("PF %r: num_vfs must be 0 or more, got %d" % (pf, num_vfs))
            device_path = _locate(sysfs_root, pf)
            if device_path in seen:
                raise SriovError(
                    "PF %r is the same device as %r; list it once" % (pf, seen[device_path])
                )
            seen[device_path] = pf
            total_path = os.path.join(device_path, "sriov_totalvfs")
            if not os.path.exists(total_path):
                raise SriovError(
                    "PF %r (%s) has no sriov_totalvfs: it does not support SR-IOV"
                    % (pf, device_path)
                )
            total = _read_int(total_path)
            if num_vfs > total:
                raise SriovError(
                    "PF %r allows at most %d VFs (sriov_totalvfs) but num_vfs is %d: "
                    "lower num_vfs to %d or less" % (pf, total, num_vfs, total)
                )
            current = _read_int(os.path.join(device_path, "sriov_numvfs"))
        except (SriovError, OSError, ValueError) as exc:
            problems.append(str(exc))
            continue
        plans.append(
            {
                "pf": pf,
                "device_path": device_path,
                "netdev": _netdev(device_path),
                "total_vfs": total,
                "num_vfs_before": current,
                "num_vfs": num_vfs,
            }
        )
    if problems:
        raise SriovError("nothing was changed: " + "; ".join(problems))
    return plans


def apply(plan):
    path = os.path.join(plan["device_path"], "sriov_numvfs")
    if plan["num_vfs_before"] != 0:
        _write_int(path, 0)
    if plan["num_vfs"] != 0:
        _write_int(path, plan["num_vfs"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            devices=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    pf=dict(type="str", required=True), num_vfs=dict(type="int", required=True)
                ),
            ),
            sysfs_root=dict(type="path", default="/sys"),
        ),
        supports_check_mode=True,
    )
    try:
        plans = inspect(module.params["sysfs_root"], module.params["devices"])
    except SriovError as exc:
        module.fail_json(msg=str(exc))
    pending = [plan for plan in plans if plan["num_vfs_before"] != plan["num_vfs"]]
    if not module.check_mode:
        for plan in pending:
            try:
                apply(plan)
            except OSError as exc:
                module.fail_json(
                    msg="writing %s/sriov_numvfs for PF %r failed: %s"
                    % (plan["device_path"], plan["pf"], exc),
                    devices=plans,
                )
    result = dict(changed=bool(pending), devices=plans)
    if module._diff:
        result["diff"] = dict(
            before="".join("%s: %d\n" % (p["pf"], p["num_vfs_before"]) for p in plans),
            after="".join("%s: %d\n" % (p["pf"], p["num_vfs"]) for p in plans),
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
