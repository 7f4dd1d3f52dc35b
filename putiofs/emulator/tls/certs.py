"""A throw-away certificate authority for the loopback TLS front, made with the openssl command.

``make_certificates(directory, names)`` writes a CA certificate and a server certificate for
``names`` (subjectAltName DNS entries) signed by it. The CA's private key is deleted as soon as the
server certificate is signed, so nothing else can ever be signed with a CA a client was told to
trust for the run. Keys are P-256 (fast to make, accepted by Go's and OpenSSL's verifiers) and the
certificates are valid for a week from now: long enough for any run, short enough to be useless
if one leaked.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL_TIMEOUT = 60.0
VALID_DAYS = 7


class CertificateError(RuntimeError):
    """The certificates could not be made (no openssl, or openssl failed)."""


@dataclass(frozen=True)
class Certificates:
    ca_file: Path    # the CA certificate clients are told to trust (PEM)
    cert_file: Path  # the server certificate (PEM)
    key_file: Path   # the server certificate's private key (PEM, readable by the owner only)


def openssl_path() -> str | None:
    """The openssl executable, or None where it is not installed."""
    return shutil.which("openssl")


def make_certificates(directory: Path, names: tuple[str, ...]) -> Certificates:
    """Make a CA and a server certificate for ``names`` in ``directory`` (which must be private)."""
    openssl = openssl_path()
    if openssl is None:
        raise CertificateError("openssl is not installed: it is needed to make the run's "
                               "certificates (apt-get install openssl)")
    if not names:
        raise ValueError("at least one DNS name is needed")
    ca_key, ca_file = directory / "ca.key", directory / "ca.pem"
    key_file, csr_file, cert_file = (directory / f"server.{ext}" for ext in ("key", "csr", "pem"))
    extensions = directory / "server.ext"
    extensions.write_text(
        "subjectAltName=" + ",".join(f"DNS:{name}" for name in names) + "\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid:always\n")
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    try:
        _run(openssl, "req", "-x509", *new_key, "-keyout", ca_key, "-out", ca_file,
             "-days", str(VALID_DAYS), "-subj", "/CN=putiofs loopback test CA",
             "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        _run(openssl, "req", *new_key, "-keyout", key_file, "-out", csr_file,
             "-subj", f"/CN={names[0]}")
        _run(openssl, "x509", "-req", "-in", csr_file, "-CA", ca_file, "-CAkey", ca_key,
             "-set_serial", f"0x{secrets.token_hex(16)}", "-days", str(VALID_DAYS),
             "-extfile", extensions, "-out", cert_file)
    finally:
        ca_key.unlink(missing_ok=True)
        csr_file.unlink(missing_ok=True)
        extensions.unlink(missing_ok=True)
    key_file.chmod(0o600)
    return Certificates(ca_file=ca_file, cert_file=cert_file, key_file=key_file)


def _run(openssl: str, *args: str | Path) -> None:
    try:
        result = subprocess.run([openssl, *map(str, args)], capture_output=True, text=True,
                                timeout=OPENSSL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise CertificateError(f"openssl {args[0]} took longer than {OPENSSL_TIMEOUT:.0f}s") \
            from None
    if result.returncode != 0:
        raise CertificateError(f"openssl {args[0]} failed ({result.returncode}): "
                               f"{result.stderr.strip()[-500:]}")
