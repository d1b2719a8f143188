"""`testbed up` repairs a node whose components crashed, without disturbing running pods."""

from __future__ import annotations

import os
import signal
import time

from kube import Kube, busybox_pod

from testbed import node, procs
from testbed.layout import default_layout


def test_up_after_a_crash_restarts_only_what_died(kube: Kube, namespace: str) -> None:
    layout = default_layout()
    kube.create(busybox_pod("survivor", namespace))
    before = kube.wait_pod_running("survivor", namespace)
    apiserver = procs.running_pid(layout, "kube-apiserver")
    kubelet = procs.running_pid(layout, "kubelet")
    assert kubelet is not None and apiserver is not None

    os.kill(kubelet, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while procs.running_pid(layout, "kubelet") is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not node.is_up(layout)

    node.up(layout)

    assert node.is_up(layout)
    assert procs.running_pid(layout, "kube-apiserver") == apiserver
    assert procs.running_pid(layout, "kubelet") not in (None, kubelet)
    after = kube.wait_pod_running("survivor", namespace)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    statuses = after["status"]["containerStatuses"]
    assert statuses[0]["restartCount"] == 0
