"""The sandbox's CA and server certificate."""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import stat

import pytest
import requests
from cryptography import x509

from sandbox.state import state_dir
from sandbox.tls import ensure_certificates
from sandbox_support import Sandbox


def test_certificate_verifies_with_the_sandbox_ca(sandbox: Sandbox) -> None:
    response = requests.get(sandbox.url + "_sandbox/health", verify=sandbox.ca, timeout=5)
    assert response.json()["status"] == "ok"
    context = ssl.create_default_context(cafile=sandbox.ca)
    with socket.create_connection(("127.0.0.1", sandbox.threaded.port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_certificate_fails_without_the_ca(sandbox: Sandbox) -> None:
    import certifi

    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sandbox.url + "_sandbox/health", verify=certifi.where(), timeout=5)
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    with socket.create_connection(("127.0.0.1", sandbox.threaded.port), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_server_certificate_names_and_files(sandbox: Sandbox) -> None:
    cert = x509.load_pem_x509_certificate(sandbox.sd.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address("127.0.0.1"),
                                                           ipaddress.ip_address("::1")}
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    ca = x509.load_pem_x509_certificate(sandbox.sd.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    for key in (sandbox.sd.ca_key, sandbox.sd.server_key, sandbox.sd.token_file):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600, key
    assert stat.S_IMODE(os.stat(sandbox.sd.root).st_mode) == 0o700


def test_certificates_are_reused(tmp_path) -> None:  # noqa: ANN001
    sd = state_dir(tmp_path / "s")
    ensure_certificates(sd)
    ca, server = sd.ca_cert.read_bytes(), sd.server_cert.read_bytes()
    ensure_certificates(sd)
    assert (sd.ca_cert.read_bytes(), sd.server_cert.read_bytes()) == (ca, server)
    sd.server_cert.unlink()
    ensure_certificates(sd)
    assert sd.ca_cert.read_bytes() == ca and sd.server_cert.read_bytes() != server
