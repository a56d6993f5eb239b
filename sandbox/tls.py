"""The sandbox's own certificate authority, HTTPS server and client certificates.

At first start the sandbox creates a CA (``ca.pem``, key 0600), a server
certificate for ``127.0.0.1``, ``::1`` and ``localhost`` signed by it, and a
client certificate (``client.pem``, ``client.key`` 0600, extended key usage
clientAuth) for the hosting console, which demands one signed by the CA.
Later starts reuse them (a certificate is re-issued only when it is missing,
about to expire, or no longer signed by the CA on disk).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.state import StateDir, write_private

CA_DAYS = 3650
SERVER_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=30)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ent.pronote sandbox"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _create_ca(sd: StateDir) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    name = _name("ent.pronote sandbox CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(sd.ca_key, _key_pem(key))
    sd.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _create_server_cert(sd: StateDir) -> None:
    ca_cert = x509.load_pem_x509_certificate(sd.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(sd.ca_key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    san = x509.SubjectAlternativeName([
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
        x509.DNSName("localhost"),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_private(sd.server_key, _key_pem(key))
    sd.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _create_client_cert(sd: StateDir) -> None:
    ca_cert = x509.load_pem_x509_certificate(sd.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(sd.ca_key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("ent.pronote demo client"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_private(sd.client_key, _key_pem(key))
    sd.client_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _server_cert_usable(sd: StateDir) -> bool:
    return _cert_usable(sd, sd.server_cert, sd.server_key)


def _cert_usable(sd: StateDir, cert_path: Path, key_path: Path) -> bool:
    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        ca_cert = x509.load_pem_x509_certificate(sd.ca_cert.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, x509.InvalidSignature):
        return False
    return cert.not_valid_after_utc - RENEW_BEFORE > dt.datetime.now(dt.timezone.utc)


def ensure_certificates(sd: StateDir) -> None:
    """Create the CA, the server and the client certificates when missing; reuse them otherwise."""
    if not (sd.ca_cert.exists() and sd.ca_key.exists()):
        _create_ca(sd)
        _create_server_cert(sd)
        _create_client_cert(sd)
        return
    if not _server_cert_usable(sd):
        _create_server_cert(sd)
    if not _cert_usable(sd, sd.client_cert, sd.client_key):
        _create_client_cert(sd)


def server_ssl_context(sd: StateDir) -> ssl.SSLContext:
    """Return the TLS context of the HTTPS listener (TLS 1.2+)."""
    ensure_certificates(sd)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(sd.server_cert), str(sd.server_key))
    return context


def hosting_ssl_context(sd: StateDir) -> ssl.SSLContext:
    """The hosting console's TLS context: a client certificate signed by the sandbox CA is required."""
    context = server_ssl_context(sd)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=str(sd.ca_cert))
    return context
