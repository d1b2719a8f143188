"""Certificates and kubeconfigs for the local node: one CA, a leaf per component.

Made once per state directory and reused by later `up` runs, so clients keep working across
restarts of the node."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from testbed.layout import NODE_NAME

API_SERVER = "https://127.0.0.1:6443"
_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class Leaf:
    name: str
    common_name: str
    organization: str | None = None
    server: bool = False
    client: bool = True
    sans: tuple[str, ...] = ()


LEAVES = (
    Leaf(
        "apiserver",
        "kube-apiserver",
        server=True,
        client=False,
        sans=(
            "DNS:localhost",
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "IP:127.0.0.1",
            "IP:10.96.0.1",
        ),
    ),
    Leaf("admin", "admin", organization="system:masters"),
    Leaf("controller-manager", "system:kube-controller-manager"),
    Leaf("scheduler", "system:kube-scheduler"),
    Leaf(
        "kubelet",
        f"system:node:{NODE_NAME}",
        organization="system:nodes",
        server=True,
        sans=(f"IP:{NODE_NAME}",),
    ),
    Leaf(
        "apiserver-kubelet-client", "kube-apiserver-kubelet-client", organization="system:masters"
    ),
    # netclaim's agent and controller, as host processes: a plain user, so that only the
    # RBAC the product ships grants it anything.
    Leaf("netclaim-agent", "netclaim-agent"),
    Leaf("netclaim-controller", "netclaim-controller"),
)

KUBECONFIG_USERS = {
    "admin": "admin",
    "controller-manager": "controller-manager",
    "scheduler": "scheduler",
    "kubelet": "kubelet",
    "netclaim-agent": "netclaim-agent",
    "netclaim-controller": "netclaim-controller",
}


def _name(common_name: str, organization: str | None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _san(entry: str) -> x509.GeneralName:
    kind, value = entry.split(":", 1)
    if kind == "IP":
        return x509.IPAddress(ipaddress.ip_address(value))
    return x509.DNSName(value)


def _sign(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + _VALIDITY)
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _leaf_extensions(leaf: Leaf) -> list[tuple[x509.ExtensionType, bool]]:
    usages = []
    if leaf.server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if leaf.client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    exts: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        ),
        (x509.ExtendedKeyUsage(usages), False),
    ]
    if leaf.sans:
        exts.append((x509.SubjectAlternativeName([_san(s) for s in leaf.sans]), False))
    return exts


def _ca_extensions() -> list[tuple[x509.ExtensionType, bool]]:
    usage = x509.KeyUsage(
        digital_signature=True,
        key_encipherment=False,
        content_commitment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    return [(x509.BasicConstraints(ca=True, path_length=None), True), (usage, True)]


def _load_or_make_ca(pki: Path) -> tuple[x509.Name, rsa.RSAPrivateKey]:
    ca_name = _name("netclaim-testbed-ca", None)
    if (pki / "ca.key").exists() and (pki / "ca.crt").exists():
        key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return ca_name, key
    ca_key = _key()
    ca_cert = _sign(ca_name, ca_key, ca_name, ca_key, _ca_extensions())
    _write_key(pki / "ca.key", ca_key)
    (pki / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return ca_name, ca_key


def ensure_pki(pki: Path) -> None:
    """Create whichever of the CA, the leaves, the service-account key pair and the
    kubeconfigs is missing; existing ones are kept so clients stay valid across restarts."""
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    for leaf in LEAVES:
        ensure_leaf(pki, leaf)
    if not (pki / "sa.key").exists():
        sa_key = _key()
        _write_key(pki / "sa.key", sa_key)
        public = sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (pki / "sa.pub").write_bytes(public)
    for user, leaf_name in KUBECONFIG_USERS.items():
        if not (pki / f"{user}.kubeconfig").exists():
            write_kubeconfig(pki / f"{user}.kubeconfig", pki, leaf_name)


def ensure_leaf(pki: Path, leaf: Leaf) -> None:
    """Sign `leaf` with the CA (made if missing) unless its certificate exists."""
    if (pki / f"{leaf.name}.crt").exists():
        return
    ca_name, ca_key = _load_or_make_ca(pki)
    key = _key()
    subject = _name(leaf.common_name, leaf.organization)
    cert = _sign(subject, key, ca_name, ca_key, _leaf_extensions(leaf))
    _write_key(pki / f"{leaf.name}.key", key)
    (pki / f"{leaf.name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def write_kubeconfig(path: Path, pki: Path, leaf_name: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "netclaim-testbed",
                "cluster": {"server": API_SERVER, "certificate-authority": str(pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": leaf_name,
                "user": {
                    "client-certificate": str(pki / f"{leaf_name}.crt"),
                    "client-key": str(pki / f"{leaf_name}.key"),
                },
            }
        ],
        "contexts": [
            {
                "name": "netclaim-testbed",
                "context": {"cluster": "netclaim-testbed", "user": leaf_name},
            }
        ],
        "current-context": "netclaim-testbed",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
