"""ResourceSlice device names (DNS labels) from interface, PCI and RDMA names."""

from __future__ import annotations

import base64
import hashlib
import re

DNS_LABEL_MAX = 63
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_INVALID = re.compile(r"[^a-z0-9-]")


def short_hash(text: str) -> str:
    """Ten lower-case base32 characters of SHA-256: stable, DNS-label safe."""
    digest = hashlib.sha256(text.encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:10].lower()


def is_dns_label(name: str) -> bool:
    return len(name) <= DNS_LABEL_MAX and bool(_DNS_LABEL.match(name))


def device_name(prefix: str, ident: str) -> str:
    """`<prefix>-<ident>` lower-cased with invalid characters mapped to `-`.

    When that is no DNS label (a name ending in `_`, say), `<prefix>-<hash of ident>`.
    """
    name = f"{prefix}-{_INVALID.sub('-', ident.lower())}"
    return name if is_dns_label(name) else f"{prefix}-{short_hash(ident)}"
