"""A real Driver on temp directories whose API server is a dict, for the netns tier."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent_testdata import claim
from netns_helpers import NETNS_DIR

from netclaim_agent.driver import Driver
from netclaim_agent.model import ClaimRef, Injection, InventoryDevice, PrepareResult


class Harness:
    """A Driver on temp dirs whose API server is a dict."""

    def __init__(
        self,
        tmp_path: Path,
        injection: Injection,
        inventory: Mapping[str, InventoryDevice],
        sysfs_root: Path = Path("/sys"),
        **driver_options: Any,
    ) -> None:
        self.api: dict[str, Mapping[str, Any]] = {}
        self.driver_options = driver_options
        self.tmp_path = tmp_path
        self.cdi_dir = tmp_path / "cdi"
        self.state_dir = tmp_path / "state"
        self.inventory = dict(inventory)
        self.injection = injection
        self.sysfs_root = sysfs_root
        self.driver = self.restart()

    def restart(self) -> Driver:
        self.driver = Driver(
            node_name="node-a",
            fetch_claim=lambda ref: self.api[ref.uid],
            inventory=self.inventory.get,
            state_dir=self.state_dir,
            cdi_dir=self.cdi_dir,
            injection=self.injection,
            netns_dir=NETNS_DIR,
            sysfs_root=self.sysfs_root,
            **self.driver_options,
        )
        return self.driver

    def prepare(
        self, devices: list[tuple[str, str]], configs: list[dict[str, Any]], pod_uid: str = "pod-1"
    ) -> tuple[ClaimRef, PrepareResult]:
        ref, body = claim(devices, configs, pod_uid=pod_uid)
        self.api[ref.uid] = body
        return ref, self.driver.prepare([ref])[ref.uid]

    def checkpoint(self) -> dict[str, Any]:
        path = self.state_dir / "checkpoint.json"
        return json.loads(path.read_text())["claims"] if path.exists() else {}

    def assert_clean(self) -> None:
        assert self.checkpoint() == {}
        assert not self.cdi_dir.exists() or not any(self.cdi_dir.iterdir())
