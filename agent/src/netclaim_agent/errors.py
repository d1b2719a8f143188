"""Errors of the Prepare/Unprepare core; each is caught per claim and becomes that claim's error."""

from __future__ import annotations


class NetclaimError(Exception):
    """Base of every error the core reports back to kubelet instead of crashing."""


class ConfigError(NetclaimError):
    """The opaque config (or what it asks for) is invalid; `problems` are `path: reason` lines."""

    def __init__(
        self, problems: list[str] | str, *, summary: str = "invalid netclaim config"
    ) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(f"{summary}: " + "; ".join(self.problems))


class ClaimError(NetclaimError):
    """The ResourceClaim cannot be used: not allocated, wrong UID, unreadable."""


class DeviceError(NetclaimError):
    """A device could not be created, moved, configured or found."""


class KernelModuleMissing(DeviceError):
    """The running kernel cannot create this link kind (its module is not available)."""

    def __init__(self, module: str) -> None:
        self.module = module
        super().__init__(f"kernel module {module!r} is not available: cannot create {module} links")


class ReasonedError(NetclaimError):
    """Why a cluster object cannot be used as it is; `reason` becomes its Ready reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
