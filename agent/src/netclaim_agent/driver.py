"""The Prepare/Unprepare core the kubelet servicer and the NRI hooks call.

Public methods never raise for a claim's sake (each claim gets its own answer), except
`attach_pod`, whose error must fail the pod sandbox rather than start a pod without its device.
One lock serialises everything that reads or writes the claim records: kubelet may call
Prepare for different pods in parallel, and hooks must not see a half-written record.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from netclaim_agent import cdi, metrics, netlink, sysctl
from netclaim_agent.claims import ClaimAllocation, read_claim
from netclaim_agent.devices import DevicePlan, HostProbe, handler_for
from netclaim_agent.errors import ClaimError, DeviceError, NetclaimError
from netclaim_agent.fip.pools import FLOATING_IP
from netclaim_agent.model import ClaimRef, Injection, InventoryDevice, PrepareResult
from netclaim_agent.planning import (
    NetworkLookup,
    no_announce,
    no_networks,
    plan_claim,
    prepare_result,
    resolve,
    result_from_record,
    result_to_record,
)
from netclaim_agent.state import Checkpoint, ClaimRecord, Phase

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.json"


class Driver:
    def __init__(
        self,
        *,
        node_name: str,
        fetch_claim: Callable[[ClaimRef], Mapping[str, Any]],
        inventory: Callable[[str], InventoryDevice | None],
        state_dir: Path,
        cdi_dir: Path,
        injection: Injection,
        netns_dir: Path = Path("/var/run/netns"),
        sysfs_root: Path = Path("/sys"),
        is_protected: Callable[[str], bool] = netlink.is_protected,
        networks: NetworkLookup = no_networks,
        pod_node: Callable[[str, str], str | None] = lambda _namespace, _name: None,
        pool_announce: Callable[[str], str] = no_announce,
        uplinks: Callable[[], tuple[str, ...]] = netlink.uplink_names,
    ) -> None:
        self.node_name = node_name
        self._fetch_claim = fetch_claim
        self._inventory = inventory
        self._cdi_dir = cdi_dir
        self._injection = injection
        self._netns_dir = netns_dir
        self._sysfs_root = sysfs_root
        self._is_protected = is_protected
        self._networks = networks
        self._pod_node = pod_node
        self._pool_announce = pool_announce
        self._uplinks = uplinks
        self._checkpoint = Checkpoint(state_dir / CHECKPOINT_FILE)
        self._lock = threading.RLock()
        self._records: dict[str, ClaimRecord] = self._checkpoint.load()

    # -- kubelet ---------------------------------------------------------------------------
    def prepare(self, claims: Sequence[ClaimRef]) -> dict[str, PrepareResult]:
        """One answer per claim UID; a repeated Prepare returns the stored answer."""
        answers: dict[str, PrepareResult] = {}
        for ref in claims:
            stored = self._stored_result(ref.uid)
            if stored is not None:
                answers[ref.uid] = stored
                continue
            try:
                claim = self._fetch(ref)
                self._check_floating_ips_are_ours(read_claim(claim, ref), claim)
                answers[ref.uid] = self._prepare_claim(ref, claim)
            except NetclaimError as exc:
                answers[ref.uid] = self._failed("prepare", ref, exc)
            except Exception as exc:  # a bug or API failure must fail the claim, not the agent
                log.exception("prepare claim %s: unexpected error", ref)
                answers[ref.uid] = PrepareResult(error=f"claim {ref}: internal error: {exc}")
        return answers

    def unprepare(self, claims: Sequence[ClaimRef]) -> dict[str, str | None]:
        """None (success) or an error per claim UID; works from the checkpoint only."""
        answers: dict[str, str | None] = {}
        for ref in claims:
            try:
                with self._lock:
                    record = self._records.get(ref.uid)
                    if record is not None:
                        self._undo(record)
                answers[ref.uid] = None
            except Exception as exc:  # kubelet retries; the record is kept for that
                log.error("unprepare claim %s failed: %s", ref, exc)
                answers[ref.uid] = f"claim {ref}: {exc}"
        return answers

    def prepared_claims(self) -> list[ClaimRef]:
        """Every claim the checkpoint holds, prepared or half-way."""
        with self._lock:
            return [_ref(record) for record in self._records.values()]

    def reconcile(self) -> None:
        """At start: undo prepares that never finished, drop CDI files nobody owns."""
        with self._lock:
            for record in list(self._records.values()):
                try:
                    if record.phase is Phase.PREPARING:
                        log.warning("claim %s: undoing an unfinished prepare", _ref(record))
                        self._undo(record)
                    else:
                        self._write_cdi(record.uid, _plans(record))
                except Exception as exc:  # keep going: one claim must not block the others
                    log.error("reconcile claim %s failed: %s", _ref(record), exc)
            for uid in cdi.claim_uids_with_specs(self._cdi_dir) - set(self._records):
                log.warning("removing CDI specs of unknown claim %s", uid)
                cdi.remove_claim_specs(self._cdi_dir, uid)

    # -- NRI hooks -------------------------------------------------------------------------
    def attach_pod(
        self, pod_uid: str, netns_path: str, pod_name: str = "", pod_namespace: str = ""
    ) -> None:
        """RunPodSandbox: give the pod its interfaces; raises DeviceError naming every failure.

        A pod with nothing of ours is left alone before its netns is even looked at (most
        pods; and the stopped sandboxes Synchronize lists, whose netns is gone)."""
        failures = []
        with self._lock:
            devices = self._pod_devices(pod_uid, Injection.NRI)
            netns = self._checked_netns(netns_path) if devices else ""
            for record, plan in devices:
                try:
                    with metrics.handler_step("attach", plan.kind):
                        handler_for(plan.kind).attach(plan, netns)
                except Exception as exc:  # report every device's failure, not just the first
                    log.error(
                        "attach claim %s to pod %s/%s (%s): %s",
                        _ref(record),
                        pod_namespace,
                        pod_name,
                        pod_uid,
                        exc,
                    )
                    failures.append(f"claim {_ref(record)} request {plan.request!r}: {exc}")
        if failures:
            raise DeviceError("; ".join(failures))

    def detach_pod(self, pod_uid: str, netns_path: str | None) -> None:
        """StopPodSandbox: host devices go back to the host with their name and MTU."""
        netns = None
        if netns_path:
            try:
                netns = self._checked_netns(netns_path)
            except DeviceError as exc:
                log.warning("detach pod %s: %s; treating its netns as gone", pod_uid, exc)
        with self._lock:
            for record, plan in self._pod_devices(pod_uid, None):
                try:
                    with metrics.handler_step("detach", plan.kind):
                        handler_for(plan.kind).detach(plan, netns)
                except Exception as exc:  # give back the other devices regardless
                    log.error("detach claim %s from pod %s: %s", _ref(record), pod_uid, exc)

    def forget_pod(self, pod_uid: str) -> None:
        """RemovePodSandbox: the netns is gone; make sure host devices are home again."""
        self.detach_pod(pod_uid, None)

    # -- internals -------------------------------------------------------------------------
    def _stored_result(self, uid: str) -> PrepareResult | None:
        with self._lock:
            record = self._records.get(uid)
            if record is None or record.phase is not Phase.PREPARED or record.result is None:
                return None
            return result_from_record(record.result)

    def _fetch(self, ref: ClaimRef) -> Mapping[str, Any]:
        """The claim from the API server (called outside the lock: it can be slow)."""
        try:
            return self._fetch_claim(ref)
        except Exception as exc:
            raise ClaimError(f"cannot read the ResourceClaim: {exc}") from exc

    def _prepare_claim(self, ref: ClaimRef, claim: Mapping[str, Any]) -> PrepareResult:
        with self._lock:
            stored = self._stored_result(ref.uid)
            if stored is not None:  # a parallel call finished it while we fetched
                return stored
            leftover = self._records.get(ref.uid)
            if leftover is not None:
                self._undo(leftover)
            allocation = read_claim(claim, ref)
            probe = HostProbe(
                sysfs_root=self._sysfs_root,
                is_protected=self._is_protected,
                uplinks=self._uplinks,
                sysctl_enabled=sysctl.is_enabled,
            )
            plan = plan_claim(
                allocation,
                resolve(allocation, self._inventory, probe, self._networks, self._pool_announce),
                self._injection,
                self._names_taken(allocation.pod_uids),
            )
            record = ClaimRecord(
                namespace=ref.namespace,
                name=ref.name,
                uid=ref.uid,
                phase=Phase.PREPARING,
                injection=str(self._injection),
                pod_uids=plan.pod_uids,
                devices=tuple(p.to_record() for p in plan.devices),
            )
            self._save(record)
            try:
                for device in plan.devices:
                    with metrics.handler_step("prepare", device.kind):
                        handler_for(device.kind).prepare(device)
                self._write_cdi(ref.uid, plan.devices)
                result = prepare_result(plan.devices)
                self._save(replace(record, phase=Phase.PREPARED, result=result_to_record(result)))
            except BaseException:
                self._undo_quietly(record)
                raise
            return result

    def _check_floating_ips_are_ours(
        self, allocation: ClaimAllocation, claim: Mapping[str, Any]
    ) -> None:
        """A floating IP is answered by one node at a time. A standalone claim may be reserved
        by pods on several nodes (the scheduler shares it); while a pod elsewhere still holds
        it, for instance on a node that was lost, this node must not announce the address.
        Runs outside the lock: it reads pods from the API server."""
        ips = [
            str(FLOATING_IP.address_of(r.device))
            for r in allocation.results
            if r.pool.startswith(FLOATING_IP.pool_prefix)
        ]
        if not ips:
            return
        namespace = allocation.ref.namespace
        for reserved in (claim.get("status") or {}).get("reservedFor") or ():
            if reserved.get("resource") != "pods":
                continue
            node = self._pod_node(namespace, str(reserved.get("name")))
            if node is not None and node != self.node_name:
                raise ClaimError(
                    f"floating IP {', '.join(ips)} is still held by pod {namespace}/"
                    f"{reserved.get('name')} on node {node}; it moves here once that pod is "
                    "deleted (force-delete it if the node is down)"
                )

    def _undo(self, record: ClaimRecord) -> None:
        """Release every device, remove the CDI specs, forget the claim; raise if any failed."""
        failures = []
        for plan in _plans(record):
            try:
                with metrics.handler_step("release", plan.kind):
                    handler_for(plan.kind).release(plan)
            except NetclaimError as exc:
                failures.append(f"request {plan.request!r}: {exc}")
        cdi.remove_claim_specs(self._cdi_dir, record.uid)
        if failures:
            raise DeviceError("; ".join(failures))
        remaining = {uid: r for uid, r in self._records.items() if uid != record.uid}
        self._checkpoint.save(remaining)
        self._records = remaining

    def _undo_quietly(self, record: ClaimRecord) -> None:
        try:
            self._undo(record)
        except Exception as exc:  # the original error is the one to report
            log.error("claim %s: rollback incomplete, reconcile will retry: %s", _ref(record), exc)

    def _save(self, record: ClaimRecord) -> None:
        updated = {**self._records, record.uid: record}
        self._checkpoint.save(updated)
        self._records = updated

    def _write_cdi(self, uid: str, plans: Sequence[DevicePlan]) -> None:
        devices = [handler_for(p.kind).cdi_device(p) for p in plans]
        cdi.write_claim_specs(self._cdi_dir, uid, devices)

    def _names_taken(self, pod_uids: Sequence[str]) -> dict[str, str]:
        """Interface names that prepared claims of the same pods already use."""
        return {
            plan.interface_name: str(_ref(record))
            for record in self._records.values()
            if set(record.pod_uids) & set(pod_uids)
            for plan in _plans(record)
            if plan.interface_name is not None
        }

    def _pod_devices(
        self, pod_uid: str, injection: Injection | None
    ) -> list[tuple[ClaimRecord, DevicePlan]]:
        return [
            (record, plan)
            for record in self._records.values()
            if record.phase is Phase.PREPARED and pod_uid in record.pod_uids
            for plan in _plans(record)
            if injection is None or plan.injection is injection
        ]

    def _checked_netns(self, netns_path: str) -> str:
        """Only a pod netns under netns_dir, and never the agent's (host) own."""
        path = Path(os.path.normpath(netns_path))
        if not path.is_absolute() or not _same_dir(path.parent, self._netns_dir):
            raise DeviceError(f"netns {netns_path!r} is not under {self._netns_dir}")
        try:
            target, own = path.stat(), Path("/proc/self/ns/net").stat()
        except OSError as exc:
            raise DeviceError(f"netns {netns_path!r}: {exc.strerror}") from exc
        if (target.st_dev, target.st_ino) == (own.st_dev, own.st_ino):
            raise DeviceError(f"netns {netns_path!r} is the host's own network namespace")
        return os.fspath(path)

    def _failed(self, verb: str, ref: ClaimRef, exc: Exception) -> PrepareResult:
        log.error("%s claim %s failed: %s", verb, ref, exc)
        return PrepareResult(error=f"claim {ref}: {exc}")


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve(strict=True) == b.resolve(strict=True)
    except OSError:
        return False


def _plans(record: ClaimRecord) -> tuple[DevicePlan, ...]:
    return tuple(DevicePlan.from_record(d) for d in record.devices)


def _ref(record: ClaimRecord) -> ClaimRef:
    return ClaimRef(namespace=record.namespace, name=record.name, uid=record.uid)
