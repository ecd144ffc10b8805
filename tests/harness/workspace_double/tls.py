"""Throwaway certificate authority and server certificate for the workspace double.

The double speaks HTTPS only, like a real Databricks workspace.  This module
creates a private CA and a server certificate for ``127.0.0.1`` and
``localhost`` in a directory, and reuses them on the next start while they are
still valid.  Files written:

``ca.pem``
    The CA certificate: point ``SSL_CERT_FILE`` (Databricks CLI),
    ``REQUESTS_CA_BUNDLE`` (Python requests / databricks-sdk) or
    ``NODE_EXTRA_CA_CERTS`` (Claude Code) at it.
``ca-key.pem``
    The CA private key (mode 0600), kept so a new server certificate can be
    issued without changing the CA that clients already trust.
``server.pem`` / ``server-key.pem``
    The server certificate and its private key (mode 0600).

Only the ``cryptography`` package is needed.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("127.0.0.1", "localhost")
CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"

_CA_LIFETIME = datetime.timedelta(days=3650)
_CERT_LIFETIME = datetime.timedelta(days=397)
_MIN_REMAINING = datetime.timedelta(days=1)


@dataclass(frozen=True)
class CertificatePaths:
    """Locations of the files written by :func:`ensure_certificates`."""

    directory: str
    ca_file: str
    ca_key_file: str
    cert_file: str
    key_file: str


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _write_atomic(path: str, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def _san_entries(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for host in hosts:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return entries


def _load_cert(path: str) -> x509.Certificate | None:
    try:
        with open(path, "rb") as handle:
            return x509.load_pem_x509_certificate(handle.read())
    except (OSError, ValueError):
        return None


def _load_key(path: str) -> ec.EllipticCurvePrivateKey | None:
    try:
        with open(path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _still_valid(cert: x509.Certificate) -> bool:
    now = _now()
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > _MIN_REMAINING


def _same_public_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def _signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _covers_hosts(cert: x509.Certificate, hosts: tuple[str, ...]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    present = set(san)
    return all(entry in present for entry in _san_entries(hosts))


def _new_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fmapi.coding_agents test harness"),
        x509.NameAttribute(NameOID.COMMON_NAME, "FMAPI workspace double throwaway CA"),
    ])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_server_cert(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, hosts: tuple[str, ...]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + _CERT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_san_entries(hosts)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def ensure_certificates(directory: str, hosts: tuple[str, ...] = DEFAULT_HOSTS) -> CertificatePaths:
    """Create (or reuse) the CA and the server certificate in ``directory``.

    The CA is reused when its certificate and key are readable, match and
    stay valid for at least another day.  The server certificate is reused
    when it is also valid, signed by that CA, matches its key and covers every
    name in ``hosts``.  Anything else is regenerated.
    """
    hosts = tuple(hosts) or DEFAULT_HOSTS
    os.makedirs(directory, mode=0o700, exist_ok=True)
    paths = CertificatePaths(
        directory=os.path.abspath(directory),
        ca_file=os.path.abspath(os.path.join(directory, CA_FILE)),
        ca_key_file=os.path.abspath(os.path.join(directory, CA_KEY_FILE)),
        cert_file=os.path.abspath(os.path.join(directory, CERT_FILE)),
        key_file=os.path.abspath(os.path.join(directory, KEY_FILE)),
    )

    ca_cert = _load_cert(paths.ca_file)
    ca_key = _load_key(paths.ca_key_file)
    if ca_cert is None or ca_key is None or not _still_valid(ca_cert) or not _same_public_key(ca_cert, ca_key):
        ca_cert, ca_key = _new_ca()
        _write_atomic(paths.ca_key_file, _key_pem(ca_key), 0o600)
        _write_atomic(paths.ca_file, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)

    cert = _load_cert(paths.cert_file)
    key = _load_key(paths.key_file)
    reusable = (
        cert is not None and key is not None and _still_valid(cert) and _same_public_key(cert, key)
        and _signed_by(cert, ca_cert) and _covers_hosts(cert, hosts)
    )
    if not reusable:
        cert, key = _new_server_cert(ca_cert, ca_key, hosts)
        _write_atomic(paths.key_file, _key_pem(key), 0o600)
        _write_atomic(paths.cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return paths
