"""The local certificate authority."""

from __future__ import annotations

import ssl
import stat

from cryptography import x509

from armguard.emulator.tls import ensure_certificates


def _sans(path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.DNSName)} | {
        str(v) for v in san.get_values_for_type(x509.IPAddress)}


def test_generates_a_ca_and_a_loopback_server_cert(tmp_path) -> None:
    files = ensure_certificates(tmp_path / "ca")
    assert {"localhost", "127.0.0.1", "::1"} <= _sans(files.server_cert)
    assert stat.S_IMODE(files.server_key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ca" / "ca-key.pem").stat().st_mode) == 0o600
    # Python's own verifier accepts the chain (strict X.509 checks included where available).
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.load_cert_chain(files.server_cert, files.server_key)


def test_reuses_the_cached_files(tmp_path) -> None:
    first = ensure_certificates(tmp_path)
    before = first.ca_cert.read_bytes(), first.server_cert.read_bytes()
    second = ensure_certificates(tmp_path)
    assert (second.ca_cert.read_bytes(), second.server_cert.read_bytes()) == before


def test_reissues_the_server_cert_for_a_new_host_but_keeps_the_ca(tmp_path) -> None:
    first = ensure_certificates(tmp_path)
    ca = first.ca_cert.read_bytes()
    second = ensure_certificates(tmp_path, hosts=["10.1.2.3", "devbox"])
    assert second.ca_cert.read_bytes() == ca
    assert {"10.1.2.3", "devbox", "localhost"} <= _sans(second.server_cert)


def test_replaces_an_unreadable_ca(tmp_path) -> None:
    ensure_certificates(tmp_path)
    (tmp_path / "ca.pem").write_text("garbage")
    files = ensure_certificates(tmp_path)
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    assert cert.issuer == ca.subject
