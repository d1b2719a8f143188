"""The test bed's certificates chain to its CA and carry the names clients check."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from testbed.pki import ensure_pki


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_leaves_are_signed_by_the_ca_with_the_right_names(tmp_path: Path) -> None:
    ensure_pki(tmp_path)
    ca = _cert(tmp_path / "ca.crt")
    apiserver = _cert(tmp_path / "apiserver.crt")
    apiserver.verify_directly_issued_by(ca)
    sans = apiserver.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    kubelet = _cert(tmp_path / "kubelet.crt")
    kubelet.verify_directly_issued_by(ca)
    assert kubelet.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "system:nodes"
    )
    usages = kubelet.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages and ExtendedKeyUsageOID.CLIENT_AUTH in usages


def test_keys_are_private_and_reused(tmp_path: Path) -> None:
    ensure_pki(tmp_path)
    before = (tmp_path / "ca.crt").read_bytes()
    ensure_pki(tmp_path)
    assert (tmp_path / "ca.crt").read_bytes() == before
    assert all(p.stat().st_mode & 0o077 == 0 for p in tmp_path.glob("*.key"))
    config = yaml.safe_load((tmp_path / "admin.kubeconfig").read_text())
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
