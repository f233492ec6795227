"""Credentials: every kind found, masked and hashed; look-alikes left alone."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import string
import struct
import time

import pytest

from detectors.secrets import KINDS, SecretsDetector, SecretsParams
from dlp import install_key
from tests.detectors.helpers import part, run, tx

rng = random.Random(42)


def rand(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"


def pem(label: str, lines: int = 12, headers: str = "") -> str:
    body = "\n".join(base64.b64encode(os.urandom(48)).decode() for _ in range(lines))
    return f"-----BEGIN {label}-----\n{headers}{body}\n-----END {label}-----\n"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header: dict | None = None, claims: dict | None = None) -> str:
    h = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    p = b64url(json.dumps(claims or {"sub": "1234", "exp": 1900000000}).encode())
    sig = b64url(hmac.new(b"k", f"{h}.{p}".encode(), hashlib.sha256).digest())
    return f"{h}.{p}.{sig}"


def kinds(findings) -> dict[str, dict]:
    return {f.extra["kind"]: f for f in findings}


def secret(text: str, **kw):
    return kinds(run(SecretsDetector(SecretsParams(**kw.pop("params", {}))), text, **kw))


# ------------------------------------------------------------------------------- private keys

@pytest.mark.parametrize("label,key_type,encrypted,headers", [
    ("RSA PRIVATE KEY", "RSA", False, ""),
    ("RSA PRIVATE KEY", "RSA", True, "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n"),
    ("EC PRIVATE KEY", "EC", False, ""),
    ("DSA PRIVATE KEY", "DSA", False, ""),
    ("PRIVATE KEY", "PKCS8", False, ""),
    ("ENCRYPTED PRIVATE KEY", "PKCS8", True, ""),
    ("OPENSSH PRIVATE KEY", "OPENSSH", False, ""),
    ("PGP PRIVATE KEY BLOCK", "PGP", False, "Version: GnuPG v2\nComment: test\n\n"),
])
def test_private_key_blocks(label, key_type, encrypted, headers):
    found = secret("config:\n" + pem(label, headers=headers) + "done")
    f = found["private_key"]
    m = f.extra["matches"][0]
    assert (m["key_type"], m["encrypted"], m["complete"]) == (key_type, encrypted, True)
    assert f.severity == 1 and f.signature_id == 2200001


def test_encrypted_openssh_key_is_recognised():
    blob = b"openssh-key-v1\0" + struct.pack(">I", 10) + b"aes256-ctr" + struct.pack(">I", 6) + b"bcrypt" + os.urandom(300)
    body = base64.b64encode(blob).decode()
    text = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(body[i:i + 70] for i in range(0, len(body), 70)) + \
           "\n-----END OPENSSH PRIVATE KEY-----\n"
    assert secret(text)["private_key"].extra["matches"][0]["encrypted"] is True


def test_private_key_in_json_with_escaped_newlines_and_cut_short():
    text = json.dumps({"key": pem("RSA PRIVATE KEY")})
    assert "private_key" in secret(text)
    cut = pem("EC PRIVATE KEY", lines=4).split("-----END")[0]
    assert secret(cut)["private_key"].extra["matches"][0]["complete"] is False


def test_header_without_a_key_body_is_documentation():
    assert secret("Paste the block that starts with -----BEGIN RSA PRIVATE KEY----- here.") == {}
    assert secret("-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(os.urandom(200)).decode() + "\n-----END PUBLIC KEY-----") == {}


# ------------------------------------------------------------------------------------ tokens

def test_aws_key_id_with_secret_nearby():
    key_id = "AKIA" + rand(string.ascii_uppercase + string.digits, 16)
    sec = rand(B64, 38) + "aZ"
    found = secret(f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {sec}\n")
    assert found["aws_access_key_id"].extra["matches"][0]["paired"] is True
    assert found["aws_secret_access_key"].severity == 1
    assert found["aws_secret_access_key"].extra["matches"][0]["masked"] == sec[:4] + "\u2026" + sec[-2:]
    alone = secret(f"id: {key_id}")
    assert set(alone) == {"aws_access_key_id"} and alone["aws_access_key_id"].severity == 2
    assert alone["aws_access_key_id"].extra["matches"][0]["paired"] is False
    temp = "ASIA" + rand(string.ascii_uppercase + string.digits, 16)
    assert secret(f"{temp}")["aws_access_key_id"].extra["matches"][0]["temporary"] is True


def test_aws_secret_is_not_a_hex_digest_or_path():
    key_id = "AKIA" + rand(string.ascii_uppercase + string.digits, 16)
    digest = hashlib.sha1(b"x").hexdigest()
    found = secret(f"{key_id} {digest} /usr/local/share/applications/some/path/x")
    assert set(found) == {"aws_access_key_id"}


def test_published_examples_are_ignored():
    text = "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert secret(text) == {}
    assert set(secret(text, params={"include_examples": True})) == {"aws_access_key_id", "aws_secret_access_key"}


@pytest.mark.parametrize("kind,value", [
    ("github_token", "ghp_" + rand(ALNUM, 36)),
    ("github_token", "gho_" + rand(ALNUM, 36)),
    ("github_token", "ghu_" + rand(ALNUM, 36)),
    ("github_token", "ghs_" + rand(ALNUM, 36)),
    ("github_token", "ghr_" + rand(ALNUM, 36)),
    ("github_token", "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59)),
    ("gitlab_token", "glpat-" + rand(ALNUM + "_-", 20)),
    ("slack_token", "xoxb-" + rand(string.digits, 12) + "-" + rand(string.digits, 13) + "-" + rand(ALNUM, 24)),
    ("slack_token", "xoxp-" + rand(string.digits, 11) + "-" + rand(string.digits, 11) + "-" + rand(string.digits, 12) + "-" + rand("0123456789abcdef", 32)),
    ("stripe_key", "sk_live_" + rand(ALNUM, 24)),
    ("stripe_key", "rk_live_" + rand(ALNUM, 99)),
    ("google_api_key", "AIza" + rand(ALNUM + "_-", 35)),
])
def test_tokens(kind, value):
    for text in (f"token={value}&x=1", json.dumps({"auth": value}), f"export TOKEN='{value}'\n"):
        f = secret(text)[kind]
        m = f.extra["matches"][0]
        assert m["masked"] == value[:4] + "\u2026" + value[-2:]
        assert value not in json.dumps(f.extra)


@pytest.mark.parametrize("text", [
    "ghp_short", "ghp_" + rand(ALNUM, 35), "xghp_" + rand(ALNUM, 36), "sk_test_" + rand(ALNUM, 24),
    "xoxb-not-a-real-token-this-will-not-work", "AIza" + rand(ALNUM, 20), "glpat-short",
    "AKIA" + rand(string.ascii_lowercase, 16), "BAKIA" + rand(string.ascii_uppercase, 16),
])
def test_token_look_alikes(text):
    assert secret(text) == {}


def test_azure_storage_connection_string():
    key = base64.b64encode(os.urandom(64)).decode()
    text = f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={key};EndpointSuffix=core.windows.net"
    assert secret(text)["azure_storage_key"].extra["matches"][0]["masked"] == key[:4] + "\u2026" + key[-2:]
    assert secret("AccountKey=<your key>;") == {}
    emulator = ("AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
                "KBHBeksoGMGw==;")
    assert secret(emulator) == {}


# -------------------------------------------------------------------------------------- JWT

def test_jwt():
    token = jwt()
    f = secret(f"Authorization: Bearer {token}")["jwt"]
    m = f.extra["matches"][0]
    assert m["alg"] == "HS256" and m["exp"] == 1900000000 and f.severity == 2
    assert token not in json.dumps(f.extra)
    assert "jwt" in secret(jwt({"alg": "none"}, {"sub": "x"}).rsplit(".", 1)[0] + ".")


@pytest.mark.parametrize("text", [
    # random base64url in three dot-separated parts
    ".".join(b64url(os.urandom(n)) for n in (30, 60, 32)),
    # base64 of JSON that has no "alg"
    b64url(b'{"typ":"JWT","kid":"1"}') + "." + b64url(b'{"a":1}') + "." + b64url(os.urandom(32)),
    # starts like JSON but is not
    "eyJub3QganNvbiBhdCBhbGw." + b64url(b'{"a":1}') + "." + b64url(os.urandom(32)),
    # a JWE has five parts
    ".".join([b64url(b'{"alg":"RSA-OAEP","enc":"A256GCM"}')] + [b64url(os.urandom(n)) for n in (32, 12, 40, 16)]),
    # dotted names and versions
    "com.example.app.module", "1.2.3", "eyJhbGciOi",
])
def test_not_jwts(text):
    assert "jwt" not in secret(text)


def test_jwt_io_sample_is_an_example():
    sample = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0"
              "IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
    assert secret(sample) == {}


# -------------------------------------------------------------------------- generic passwords

def test_generic_assignments_in_config_text():
    text = ("# app settings\nDB_HOST=db.internal\nDB_USER=app\nDB_PASSWORD=Tr0ub4dor&3x!\n"
            "STRIPE_API_KEY=abcd1234efgh5678\nSESSION_SECRET: \"9f8e7d6c5b4a\"\n")
    f = secret(text)["generic_password"]
    assert f.severity == 3 and f.signature_id == 2200011
    fields = sorted(m["field"] for m in f.extra["matches"])
    assert fields == ["DB_PASSWORD", "SESSION_SECRET", "STRIPE_API_KEY"]
    assert "Tr0ub4dor" not in json.dumps(f.extra)
    assert secret(text, params={"generic_severity": 4})["generic_password"].severity == 4


def test_config_file_by_name():
    t = tx(parts=[part("password: hunter2hunter\n", filename="app/.env", content_type="text/plain")])
    f = SecretsDetector().inspect(t)
    assert kinds(f)["generic_password"].extra["matches"][0]["masked"] == "hun\u2026r"


@pytest.mark.parametrize("text,ctype", [
    ("username=bob&password=hunter2hunter&remember=1", "application/x-www-form-urlencoded"),  # a login
    ('{"username": "bob", "password": "hunter2hunter"}', "application/json"),
    ("a=1\nb=2\npassword=${DB_PASSWORD}\n", "text/plain"),
    ("a=1\nb=2\npassword=changeme\n", "text/plain"),
    ("a=1\nb=2\npassword: <your password here>\n", "text/plain"),
    ("a=1\nb=2\npassword = os.environ['PW']\n", "text/plain"),
    ("a=1\nb=2\npassword=********\n", "text/plain"),
    ("a=1\nb=2\npassword_hash=abcdef123456\n", "text/plain"),
    ("The password = something you choose. Keep it safe.", "text/plain"),
])
def test_generic_negatives(text, ctype):
    assert "generic_password" not in secret(text, content_type=ctype)


def test_generic_does_not_repeat_a_specific_kind():
    token = "ghp_" + rand(ALNUM, 36)
    found = secret(f"a=1\nb=2\ngithub_token={token}\n")
    assert "github_token" in found and "generic_password" not in found


# ----------------------------------------------------------------------------- behaviour

def test_one_finding_per_kind_listing_distinct_values_with_hashes():
    a, b = "ghp_" + rand(ALNUM, 36), "ghp_" + rand(ALNUM, 36)
    t = tx(f"{a} {b} {a}", f"again {a}")
    found = kinds(SecretsDetector().inspect(t))
    f = found["github_token"]
    assert f.extra["distinct"] == 2 and len(f.extra["matches"]) == 2
    key = install_key.load_or_create_key()
    assert {m["hash"] for m in f.extra["matches"]} == {hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in (a, b)}


def test_kinds_can_be_enabled_one_by_one():
    text = f"{jwt()} ghp_{rand(ALNUM, 36)}"
    assert set(secret(text, params={"kinds": ("jwt",)})) == {"jwt"}
    assert set(secret(text)) == {"jwt", "github_token"}
    with pytest.raises(ValueError):
        SecretsParams(kinds=())


def test_direction_and_allowlist():
    text = "ghp_" + rand(ALNUM, 36)
    assert secret(text, direction=1) == {}
    assert "github_token" in secret(text, direction=1, params={"direction": "both"})
    assert secret(text, host="api.github.com", params={"allow_hosts": ("github.com",)}) == {}


def test_tokens_across_window_boundaries_found_once():
    token = "glpat-" + rand(ALNUM, 20)
    d = SecretsDetector(SecretsParams(window_chars=60_000))
    for cut in (60_000 - 30, 60_000 - 5, 60_000, 60_001):
        text = "x" * (cut - 3) + " \n " + token + " " + "y" * 70_000
        f = kinds(run(d, text))["gitlab_token"]
        assert f.extra["distinct"] == 1


def test_all_kinds_have_signatures():
    d = SecretsDetector()
    assert set(d.kinds) == set(KINDS) and len(KINDS) == 11


def test_large_text_is_scanned_quickly():
    text = base64.b64encode(os.urandom(3_000_000)).decode() + " lorem ipsum " * 400_000  # ~9 MB
    t0 = time.perf_counter()
    assert run(SecretsDetector(), text) == []
    dt = time.perf_counter() - t0
    print(f"\nsecret: {len(text) / 1e6:.1f} MB of base64 and prose in {dt:.2f} s ({len(text) / dt / 1e6:.1f} MB/s)")
    assert dt < 15
