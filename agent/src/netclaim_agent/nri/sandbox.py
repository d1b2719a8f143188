"""What the NRI plugin hands to the rest of the agent: pod sandboxes and the handler protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from netclaim_agent._proto.nri import api_pb2


class SandboxHandler(Protocol):
    """Puts pods' claimed interfaces in place; implemented by `netclaim_agent.driver.Driver`.

    Calls come one at a time. They must be quick (the runtime waits, 2 s by default) and
    idempotent: a Synchronize after a reconnect repeats attach_pod for running pods.
    """

    def attach_pod(
        self, pod_uid: str, netns_path: str, pod_name: str = "", pod_namespace: str = ""
    ) -> None:
        """RunPodSandbox: an exception fails the sandbox, so the pod never runs half-wired."""
        ...

    def detach_pod(self, pod_uid: str, netns_path: str | None) -> None:
        """StopPodSandbox: give host devices back; netns_path may be gone or unknown."""
        ...

    def forget_pod(self, pod_uid: str) -> None:
        """RemovePodSandbox: the sandbox is gone for good."""
        ...


@dataclass(frozen=True)
class Sandbox:
    uid: str
    name: str
    namespace: str
    netns_path: str | None  # None for hostNetwork pods

    @classmethod
    def from_pod(cls, pod: api_pb2.PodSandbox) -> Sandbox:
        return cls(
            uid=pod.uid,
            name=pod.name,
            namespace=pod.namespace,
            netns_path=network_namespace_path(pod),
        )

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} ({self.uid})"


def network_namespace_path(pod: api_pb2.PodSandbox) -> str | None:
    for namespace in pod.linux.namespaces:
        if namespace.type == "network" and namespace.path:
            return namespace.path
    return None
