# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-side helpers: readiness predicates and flat views of DRA objects. Private.

Pure functions over plain dicts as returned by the API server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def condition(obj, kind):
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def is_ready(obj):
    """Ready=True, and not a leftover from before the latest spec change."""
    cond = condition(obj, "Ready")
    if not cond or cond.get("status") != "True":
        return False
    observed = cond.get("observedGeneration")
    return observed is None or observed >= obj["metadata"].get("generation", 0)


def is_allocated(claim):
    return bool(((claim or {}).get("status") or {}).get("allocation"))


def allocated_devices(claim):
    """One entry per allocated device, with what its driver reported (interface, IPs)."""
    status = (claim or {}).get("status") or {}
    results = (((status.get("allocation") or {}).get("devices") or {}).get("results")) or []
    reported = dict(
        ((d.get("driver"), d.get("pool"), d.get("device"), d.get("shareID")), d)
        for d in status.get("devices") or []
    )
    devices = []
    for res in results:
        entry = dict(
            (k, res[k]) for k in ("request", "driver", "pool", "device", "shareID") if res.get(k)
        )
        key = (res.get("driver"), res.get("pool"), res.get("device"), res.get("shareID"))
        report = reported.get(key)
        if report:
            for key in ("networkData", "conditions", "data"):
                if report.get(key):
                    entry[key] = report[key]
        devices.append(entry)
    return devices


def _attribute_value(typed):
    """``{"string": "veth"}`` -> ``"veth"`` (the API wraps each value in its type)."""
    if isinstance(typed, dict) and len(typed) == 1:
        return next(iter(typed.values()))
    return typed


def qualified(name, driver):
    return name if "/" in name else "{0}/{1}".format(driver, name)


def slice_devices(resource_slice):
    """The slice's devices, flat: attributes by fully qualified name with plain values."""
    spec = resource_slice.get("spec") or {}
    driver = spec.get("driver")
    devices = []
    for device in spec.get("devices") or []:
        entry = {
            "name": device.get("name"),
            "driver": driver,
            "pool": (spec.get("pool") or {}).get("name"),
            "node": spec.get("nodeName"),
            "slice": resource_slice["metadata"]["name"],
            "attributes": dict(
                (qualified(k, driver), _attribute_value(v))
                for k, v in (device.get("attributes") or {}).items()
            ),
            "capacity": dict(
                (qualified(k, driver), (v or {}).get("value"))
                for k, v in (device.get("capacity") or {}).items()
            ),
        }
        if device.get("allowMultipleAllocations"):
            entry["allow_multiple_allocations"] = True
        devices.append(entry)
    return devices


def select_slices(slices, pool=None, kind=None):
    """Slices of ``pool`` (if given) and devices of ``kind`` (if given), flattened."""
    kept, devices = [], []
    for resource_slice in slices:
        if pool and ((resource_slice.get("spec") or {}).get("pool") or {}).get("name") != pool:
            continue
        found = slice_devices(resource_slice)
        if kind:
            found = [
                d for d in found if d["attributes"].get(qualified("kind", d["driver"])) == kind
            ]
            if not found:
                continue
        kept.append(resource_slice)
        devices.extend(found)
    return kept, devices
