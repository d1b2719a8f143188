"""The `Ready` condition the controller writes on its objects, shaped as the API expects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def ready_condition(
    obj: Mapping[str, Any], ready: bool, reason: str, message: str
) -> dict[str, Any]:
    """The object's new Ready condition; the transition time moves only when the status does,
    so an unchanged verdict compares equal to what is stored and causes no write."""
    meta = obj["metadata"]
    value = "True" if ready else "False"
    previous = previous_ready(obj)
    since = (
        previous["lastTransitionTime"]
        if previous and previous.get("status") == value
        else dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    return {
        "type": "Ready",
        "status": value,
        "observedGeneration": meta.get("generation", 0),
        "lastTransitionTime": since,
        "reason": reason,
        "message": message,
    }


def previous_ready(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    conditions = (obj.get("status") or {}).get("conditions") or ()
    return next((dict(c) for c in conditions if c.get("type") == "Ready"), None)
