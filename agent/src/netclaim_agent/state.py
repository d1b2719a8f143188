"""The versioned, atomic checkpoint of prepared claims (plain records keyed by claim UID).

Only the Prepare/Unprepare path and reconcile write it; NRI hooks read the in-memory copy.
A missing file means "nothing prepared"; a corrupt one is moved aside, logged, and treated the
same, so the agent always starts.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netclaim_agent.atomicfile import write_atomic

log = logging.getLogger(__name__)

API_VERSION = "netclaim.io/v1alpha1"
KIND = "Checkpoint"
DEFAULT_PATH = Path("/var/lib/netclaim/checkpoint.json")


class Phase(enum.StrEnum):
    PREPARING = "preparing"
    """Effects may be half done: reconcile undoes them."""
    PREPARED = "prepared"


@dataclass(frozen=True)
class ClaimRecord:
    """Everything needed to answer a repeated Prepare, run the NRI hooks and Unprepare."""

    namespace: str
    name: str
    uid: str
    phase: Phase
    injection: str
    pod_uids: tuple[str, ...] = ()
    devices: tuple[Mapping[str, Any], ...] = ()
    """Device plans as plain records (see `devices.DevicePlan.to_record`)."""
    result: Mapping[str, Any] | None = None
    """The stored PrepareResult, once phase is `prepared`."""
    created: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
            "phase": str(self.phase),
            "injection": self.injection,
            "podUIDs": list(self.pod_uids),
            "devices": [dict(d) for d in self.devices],
            "result": self.result,
            "created": self.created,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClaimRecord:
        return cls(
            namespace=str(data["namespace"]),
            name=str(data["name"]),
            uid=str(data["uid"]),
            phase=Phase(data["phase"]),
            injection=str(data["injection"]),
            pod_uids=tuple(str(u) for u in data.get("podUIDs", ())),
            devices=tuple(data.get("devices", ())),
            result=data.get("result"),
            created=float(data.get("created", 0.0)),
        )


class Checkpoint:
    """The checkpoint file: directory 0700, file 0600, replaced atomically on every save."""

    def __init__(self, path: Path = DEFAULT_PATH) -> None:
        self.path = path

    def load(self) -> dict[str, ClaimRecord]:
        """The stored claims; {} when the file is missing or unusable (never raises)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.error("checkpoint %s unreadable, starting empty: %s", self.path, exc)
            return {}
        try:
            return self._decode(raw)
        except (ValueError, KeyError, TypeError) as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            log.error("checkpoint %s is corrupt (%s); moved to %s", self.path, exc, aside)
            try:
                self.path.replace(aside)
            except OSError as move_error:
                log.error("could not move corrupt checkpoint aside: %s", move_error)
            return {}

    @staticmethod
    def _decode(raw: bytes) -> dict[str, ClaimRecord]:
        document = json.loads(raw)
        if not isinstance(document, dict):
            raise ValueError("top level is not an object")
        if document.get("apiVersion") != API_VERSION or document.get("kind") != KIND:
            raise ValueError(
                f"unknown apiVersion/kind {document.get('apiVersion')}/{document.get('kind')}"
            )
        claims = document.get("claims", {})
        return {uid: ClaimRecord.from_json(record) for uid, record in claims.items()}

    def save(self, claims: Mapping[str, ClaimRecord]) -> None:
        """Write all claims atomically (raises OSError; the caller fails that claim)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path.parent.chmod(0o700)
        document = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "claims": {uid: record.to_json() for uid, record in sorted(claims.items())},
        }
        data = json.dumps(document, indent=1, sort_keys=True).encode()
        write_atomic(self.path, data, mode=0o600)
