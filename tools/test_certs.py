"""Throw-away certificates for TLS tests, made with the openssl CLI in a directory you own:
a CA (for Squid's ssl_bump, or to sign test servers) and server certificates for an IP.

    ca = make_ca(d, "dlp test CA")                 # -> (cert path, key path)
    cert, key = make_server_cert(d, ca, "10.213.7.1")
"""

from __future__ import annotations

import os
import subprocess


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(directory: str, name: str = "dlp test CA", stem: str = "ca") -> tuple[str, str]:
    cert, key = os.path.join(directory, f"{stem}.pem"), os.path.join(directory, f"{stem}.key")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
             "-subj", f"/CN={name}", "-keyout", key, "-out", cert,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def make_server_cert(directory: str, ca: tuple[str, str], ip: str, stem: str = "server") -> tuple[str, str]:
    cert, key = os.path.join(directory, f"{stem}.pem"), os.path.join(directory, f"{stem}.key")
    csr, ext = os.path.join(directory, f"{stem}.csr"), os.path.join(directory, f"{stem}.ext")
    with open(ext, "w") as fh:
        fh.write(f"subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", f"/CN={ip}",
             "-keyout", key, "-out", csr)
    _openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
             "-days", "2", "-sha256", "-extfile", ext, "-out", cert)
    return cert, key
