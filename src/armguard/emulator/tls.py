"""A local certificate authority for the emulator's HTTPS listener.

The Azure SDKs refuse to send a bearer token over plain http, so the emulator serves HTTPS with a
server certificate signed by a CA that armguard generates on first use and keeps in a cache
directory. Point the client at the CA certificate (`connection_verify=<ca.pem>` in Python,
`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`...) and TLS verifies as usual.

Files in the directory: `ca.pem` (the CA certificate: the bundle to trust), `ca-key.pem`,
`server.pem` and `server-key.pem` (keys readable by the owner only). The server certificate covers
localhost, 127.0.0.1 and ::1 plus any extra host the server binds to; it is re-issued when a host is
missing or expiry is near. The CA is kept for ten years so that a trusted bundle stays valid.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
CA_VALIDITY = dt.timedelta(days=3650)
SERVER_VALIDITY = dt.timedelta(days=397)
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Where the CA bundle and the server's certificate and key are."""

    directory: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path


def default_ca_dir() -> Path:
    """`$ARMGUARD_EMULATOR_CA_DIR`, else `$XDG_CACHE_HOME/armguard/emulator-ca` (~/.cache/...)."""
    explicit = os.environ.get("ARMGUARD_EMULATOR_CA_DIR")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "armguard" / "emulator-ca"


def ensure_certificates(directory: Path | str | None = None, hosts: Iterable[str] = ()) -> TlsFiles:
    """The CA and a server certificate for loopback and `hosts`, generated when missing or stale."""
    root = Path(directory) if directory is not None else default_ca_dir()
    root.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(root, root / "ca.pem", root / "server.pem", root / "server-key.pem")
    wanted = _host_names(hosts)
    with _directory_lock(root):
        ca_cert, ca_key = _load_or_create_ca(root)
        if not _server_cert_fits(files.server_cert, files.server_key, ca_cert, wanted):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _issue_server_cert(key, ca_cert, ca_key, wanted)
            _write_private(files.server_key, _key_pem(key))
            _write_public(files.server_cert, cert.public_bytes(serialization.Encoding.PEM))
    return files


def _host_names(hosts: Iterable[str]) -> tuple[str, ...]:
    names = list(LOOPBACK_HOSTS)
    for host in hosts:
        host = host.strip("[]")
        if host and host not in ("0.0.0.0", "::") and host not in names:
            names.append(host)
    return tuple(names)


def _load_or_create_ca(root: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = root / "ca.pem", root / "ca-key.pem"
    now = _now()
    if cert_path.exists() and key_path.exists():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if (isinstance(key, ec.EllipticCurvePrivateKey)
                    and cert.not_valid_after_utc - RENEW_BEFORE > now
                    and cert.public_key().public_numbers() == key.public_key().public_numbers()):
                return cert, key
        except ValueError:
            pass  # unreadable: issue a new CA below
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "armguard"),
        x509.NameAttribute(NameOID.COMMON_NAME, "armguard emulator local CA"),
    ])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     key_cert_sign=True, crl_sign=True, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    (root / "server.pem").unlink(missing_ok=True)  # signed by the old CA
    return cert, key


def _server_cert_fits(cert_path: Path, key_path: Path, ca_cert: x509.Certificate,
                      hosts: tuple[str, ...]) -> bool:
    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    covered = {str(n) for n in san.get_values_for_type(x509.DNSName)}
    covered |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    wanted = {str(ipaddress.ip_address(h)) if _is_ip(h) else h for h in hosts}
    return (cert.issuer == ca_cert.subject
            and isinstance(key, ec.EllipticCurvePrivateKey)
            and cert.public_key().public_numbers() == key.public_key().public_numbers()
            and cert.not_valid_after_utc - RENEW_BEFORE > _now()
            and wanted <= covered)


def _issue_server_cert(key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
                       ca_key: ec.EllipticCurvePrivateKey, hosts: tuple[str, ...]) -> x509.Certificate:
    now = _now()
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(h)) if _is_ip(h) else x509.DNSName(h) for h in hosts]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "armguard emulator")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + SERVER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     key_cert_sign=False, crl_sign=False, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_private(path: Path, data: bytes) -> None:
    _write_atomically(path, data, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    _write_atomically(path, data, 0o644)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _directory_lock(root: Path) -> Iterator[None]:
    """Serialise generation between processes sharing one directory (POSIX advisory lock)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; generation is still atomic per file
        yield
        return
    with open(root / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
