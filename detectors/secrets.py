"""Credentials in decoded HTTP bodies: private keys, cloud and SaaS tokens, JWTs, passwords in
configuration text.

Each kind is its own rule (signature id = `signature_id_base` + the kind's number below) with
its own severity; a transaction gives at most one finding per kind, listing every distinct
value found (masked: first 4 + "…" + last 2, fewer for short values; plus an HMAC-SHA256
with the per-install key). Values are never put in alerts or kept after `inspect`.

| n  | kind                  | what                                                        | sev |
|----|-----------------------|-------------------------------------------------------------|-----|
| 1  | private_key           | PEM/OpenSSH/PGP private key block with a body (RSA, EC, DSA, PKCS#8, encrypted) | 1 |
| 2  | aws_access_key_id     | AKIA/ASIA + 16 upper-case alphanumerics                    | 2   |
| 3  | aws_secret_access_key | 40-char secret within 256 chars of a key id, or after an aws_secret_access_key label | 1 |
| 4  | github_token          | ghp_, gho_, ghu_, ghs_, ghr_, github_pat_                   | 1   |
| 5  | gitlab_token          | glpat-                                                      | 1   |
| 6  | slack_token           | xoxb-, xoxa-, xoxp-, xoxr-, xoxs-                           | 1   |
| 7  | stripe_key            | sk_live_, rk_live_                                          | 1   |
| 8  | google_api_key        | AIza + 35                                                   | 2   |
| 9  | azure_storage_key     | AccountKey=<base64> (storage connection strings)            | 1   |
| 10 | jwt                   | header.payload.signature whose header is JSON with "alg"   | 2   |
| 11 | generic_password      | password=/api_key=/secret:/token= lines in config-like text | 3 (`generic_severity`) |

Published examples (AWS's AKIAIOSFODNN7EXAMPLE, the Azure storage emulator key, jwt.io's
sample token) are ignored unless `include_examples`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import typing
from dataclasses import dataclass
from typing import Literal

from detectors.base import Finding, HttpTransaction
from detectors.text.mask import keyed_hash, mask_middle
from detectors.text.scope import (
    DEFAULT_EXCLUDED_TYPES, DIRECTIONS, Direction, host_matches, host_of, normalize_domains,
    part_type, part_where, type_selected, validate_domains,
)
from detectors.text.windows import DEFAULT_WINDOW, windows
from dlp.install_key import load_or_create_key

Kind = Literal["private_key", "aws_access_key_id", "aws_secret_access_key", "github_token",
               "gitlab_token", "slack_token", "stripe_key", "google_api_key",
               "azure_storage_key", "jwt", "generic_password"]
KINDS: tuple[str, ...] = typing.get_args(Kind)

SEVERITY = {"private_key": 1, "aws_access_key_id": 2, "aws_secret_access_key": 1, "github_token": 1,
            "gitlab_token": 1, "slack_token": 1, "stripe_key": 1, "google_api_key": 2,
            "azure_storage_key": 1, "jwt": 2, "generic_password": 3}
SIGNATURE = {
    "private_key": "DLP private key block",
    "aws_access_key_id": "DLP AWS access key id",
    "aws_secret_access_key": "DLP AWS secret access key",
    "github_token": "DLP GitHub token",
    "gitlab_token": "DLP GitLab personal access token",
    "slack_token": "DLP Slack token",
    "stripe_key": "DLP Stripe live secret key",
    "google_api_key": "DLP Google API key",
    "azure_storage_key": "DLP Azure storage account key",
    "jwt": "DLP JSON Web Token",
    "generic_password": "DLP password or API key in configuration text",
}

EXAMPLES = frozenset((
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
))

_PEM_RE = re.compile(r"-----BEGIN ((?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----")
_AWS_ID_RE = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")
_AWS_SECRET_RE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AWS_LABELLED_RE = re.compile(
    r"(?i:aws_?secret(?:_?access)?_?key)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_TOKEN_RES: dict[str, re.Pattern] = {
    "github_token": re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{50,240})(?![A-Za-z0-9_])"),
    "gitlab_token": re.compile(r"(?<![A-Za-z0-9_\-])glpat-[A-Za-z0-9_\-]{20,200}(?![A-Za-z0-9_\-])"),
    "slack_token": re.compile(r"(?<![A-Za-z0-9])xox[baprs]-[0-9]{1,20}(?:-[0-9]{1,20}){0,3}-[A-Za-z0-9]{8,64}(?![A-Za-z0-9\-])"),
    "stripe_key": re.compile(r"(?<![A-Za-z0-9_])[sr]k_live_[A-Za-z0-9]{16,247}(?![A-Za-z0-9_])"),
    "google_api_key": re.compile(r"(?<![A-Za-z0-9_\-])AIza[0-9A-Za-z_\-]{35}(?![A-Za-z0-9_\-])"),
}
# Cheap substring tests before each token regex (whose leading look-behind defeats the
# regex engine's literal-prefix scan).
_TOKEN_GATES = {
    "github_token": lambda t: _GH_GATE_RE.search(t) is not None,
    "gitlab_token": lambda t: "glpat-" in t,
    "slack_token": lambda t: "xox" in t,
    "stripe_key": lambda t: "k_live_" in t,
    "google_api_key": lambda t: "AIza" in t,
}
_GH_GATE_RE = re.compile(r"gh[pousr]_|github_pat_")
_AZURE_RE = re.compile(r"(?i:accountkey)\s*=\s*([A-Za-z0-9+/]{40,120}={0,2})(?![A-Za-z0-9+/=])")
# The look-behind comes after the literal "ey" so the engine can skip ahead to each "ey".
_JWT_RE = re.compile(r"ey(?<![A-Za-z0-9_\-.]ey)[A-Za-z0-9_\-]{10,2048}\.[A-Za-z0-9_\-]{2,8192}\.[A-Za-z0-9_\-]{0,2048}(?![A-Za-z0-9_\-.])")
_GENERIC_RE = re.compile(
    r"""(?im)^[ \t]*(?:export[ \t]+|set[ \t]+)?["']?"""
    r"""([\w.\-]{0,60}?(?:password|passwd|passphrase|pwd|secret|api[_.\-]?key|apikey|access[_.\-]?key|"""
    r"""auth[_.\-]?token|access[_.\-]?token|token|client[_.\-]?secret|private[_.\-]?key|credentials?))"""
    r"""["']?[ \t]*[:=][ \t]*(["']?)([^\s"'#;,]{6,200})\2(?=[\s"'#;,]|$)""")
_ASSIGN_LINE_RE = re.compile(r"(?m)^[ \t]*(?:export[ \t]+)?[\"']?[A-Za-z_][\w.\-]*[\"']?[ \t]*[:=]")
CONFIG_EXTENSIONS = (".env", ".ini", ".conf", ".cfg", ".cnf", ".config", ".properties", ".yaml",
                     ".yml", ".toml", ".json", ".xml", ".tfvars", ".npmrc", ".pypirc", ".netrc",
                     ".pgpass", ".sh", ".bashrc", ".zshrc", ".profile", ".secrets", "credentials")
_PLACEHOLDER_WORDS = ("example", "placeholder", "your_", "your-", "yourpass", "dummy", "redacted",
                      "changeme", "change_me", "xxxx", "****", "getenv", "environ", "secret_here",
                      "<", ">", "...", "todo", "fixme")
_PLACEHOLDER_VALUES = frozenset(("null", "none", "nil", "true", "false", "password", "secret",
                                 "undefined", "required", "optional", "string", "hidden", "empty",
                                 "default", "token", "apikey", "api_key", "masked"))
MAX_TOKEN = 12_800  # longest match we look for (a JWT); the window overlap


@dataclass(frozen=True)
class SecretsParams:
    kinds: tuple[Kind, ...] = KINDS  # type: ignore[assignment]
    direction: Direction = "toserver"
    signature_id_base: int = 2200000
    category: str = "Potential Corporate Privacy Violation"
    generic_severity: int = 3
    include_examples: bool = False
    allow_hosts: tuple[str, ...] = ()
    content_types: tuple[str, ...] = ()
    exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_TYPES
    hmac_key_file: str = ""
    max_listed: int = 50
    window_chars: int = DEFAULT_WINDOW

    def __post_init__(self) -> None:
        if not self.kinds:
            raise ValueError("kinds: enable at least one kind (or disable the detector)")
        if len(set(self.kinds)) != len(self.kinds):
            raise ValueError("kinds: listed twice")
        if not 1 <= self.generic_severity <= 4:
            raise ValueError("generic_severity must be 1 (high) to 4 (low)")
        if self.max_listed < 1:
            raise ValueError("max_listed must be positive")
        if self.window_chars < 4 * MAX_TOKEN:
            raise ValueError(f"window_chars must be at least {4 * MAX_TOKEN}")
        validate_domains(self.allow_hosts, "allow_hosts")


def _b64url_json(segment: str):
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _mixed(value: str) -> bool:
    """Upper, lower and digits all present: random base64, not a word, hex digest or path."""
    return any(c.isupper() for c in value) and any(c.islower() for c in value) and any(c.isdigit() for c in value)


def is_placeholder(value: str) -> bool:
    low = value.lower()
    if value[0] in "$%{<[*(@!&" or "${" in value or "{{" in value or "(" in value or "[" in value:
        return True
    if low in _PLACEHOLDER_VALUES or len(set(value)) <= 2:
        return True
    return any(w in low for w in _PLACEHOLDER_WORDS)


def config_like(text: str, filename: str, ctype: str) -> bool:
    """Configuration text: a config-ish file name, or at least three `name = value` /
    `name: value` lines near the start. Form posts (a login) are not configuration."""
    if "x-www-form-urlencoded" in ctype:
        return False
    name = filename.lower()
    if name and (name.endswith(CONFIG_EXTENSIONS) or name.rsplit("/", 1)[-1].startswith(".env")):
        return True
    sample = text[:65536]
    count = 0
    for _ in _ASSIGN_LINE_RE.finditer(sample):
        count += 1
        if count >= 3:
            return True
    return False


class SecretsDetector:
    name = "secret"
    inputs = frozenset({"http"})  # HTTP transactions only, never raw stream chunks
    Params = SecretsParams

    def __init__(self, params: SecretsParams | None = None):
        p = self.params = params or SecretsParams()
        self.kinds = frozenset(p.kinds)
        self.directions = DIRECTIONS[p.direction]
        self.allow = normalize_domains(p.allow_hosts)
        self.key = load_or_create_key(p.hmac_key_file or None)
        self.severity = dict(SEVERITY, generic_password=p.generic_severity)

    def applies(self, item) -> bool:
        return type(item) is HttpTransaction and item.direction in self.directions

    def inspect(self, tx: HttpTransaction) -> list[Finding]:
        p = self.params
        if self.allow and host_matches(host_of(tx), self.allow):
            return []
        found: dict[str, dict[str, dict]] = {}  # kind -> hash -> match entry
        for part in tx.parts:
            ctype = part_type(part, tx)
            if not part.text or not type_selected(ctype, p.content_types, p.exclude_content_types):
                continue
            self.scan_text(part.text, part_where(part), found,
                           config=config_like(part.text, part.filename or part.name or "", ctype))
        generic = found.get("generic_password")
        if generic:  # a value a specific kind already reports is not also a generic password
            specific = {h for kind, entries in found.items() if kind != "generic_password" for h in entries}
            for h in specific & generic.keys():
                del generic[h]
        findings = []
        for n, kind in enumerate(KINDS, 1):
            entries = found.get(kind)
            if not entries:
                continue
            matches = list(entries.values())
            extra = {"kind": kind, "matches": matches[:p.max_listed], "distinct": len(matches)}
            if len(matches) > p.max_listed:
                extra["truncated"] = True
            findings.append(Finding(detector=self.name, signature_id=p.signature_id_base + n,
                                    signature=SIGNATURE[kind], category=p.category,
                                    severity=self.severity[kind], direction=tx.direction,
                                    rule=SIGNATURE[kind], extra=extra))
        return findings

    # -- scanning

    def _add(self, found, kind: str, value: str, where: str, **info) -> None:
        if kind not in self.kinds:
            return
        if not self.params.include_examples and value in EXAMPLES:
            return
        h = keyed_hash(self.key, value)
        entries = found.setdefault(kind, {})
        if h not in entries:
            entries[h] = {"type": kind, "masked": mask_middle(value), "hash": h, "where": where, **info}

    def scan_text(self, text: str, where: str, found: dict, config: bool = False) -> None:
        kinds = self.kinds
        for win in windows(text, self.params.window_chars, overlap=MAX_TOKEN + 64, lead=64):
            chunk, base = win.chunk, win.base
            if "private_key" in kinds and "PRIVATE KEY" in chunk:
                for m in _PEM_RE.finditer(chunk):
                    if win.owns(m.start()):
                        self._pem(text, base + m.start(), base + m.end(), m, where, found)
            if ("aws_access_key_id" in kinds or "aws_secret_access_key" in kinds) and ("AKIA" in chunk or "ASIA" in chunk):
                for m in _AWS_ID_RE.finditer(chunk):
                    if win.owns(m.start()):
                        self._aws(text, base + m.start(), base + m.end(), m.group(), where, found)
            if "aws_secret_access_key" in kinds:
                if "ecret" in chunk or "ECRET" in chunk:
                    for m in _AWS_LABELLED_RE.finditer(chunk):
                        if win.owns(m.start()) and _mixed(m.group(1)):
                            self._add(found, "aws_secret_access_key", m.group(1), where, paired=False)
            for kind, rx in _TOKEN_RES.items():
                if kind in kinds and _TOKEN_GATES[kind](chunk):
                    for m in rx.finditer(chunk):
                        if win.owns(m.start()):
                            value = m.group()
                            cut = value.find("_", 0, 12)
                            self._add(found, kind, value, where, prefix=value[:cut + 1] if cut > 0 else value[:5])
            if "azure_storage_key" in kinds and ("ccountKey" in chunk or "ccountkey" in chunk or "CCOUNTKEY" in chunk):
                for m in _AZURE_RE.finditer(chunk):
                    if win.owns(m.start()) and len(m.group(1)) >= 40:
                        self._add(found, "azure_storage_key", m.group(1), where)
            if "jwt" in kinds and "ey" in chunk:
                for m in _JWT_RE.finditer(chunk):
                    if win.owns(m.start()):
                        self._jwt(m.group(), where, found)
            if config and "generic_password" in kinds:
                for m in _GENERIC_RE.finditer(chunk):
                    if win.owns(m.start()):
                        value = m.group(3)
                        if not is_placeholder(value):
                            self._add(found, "generic_password", value, where, field=m.group(1)[:64])

    def _pem(self, text: str, s: int, e: int, m: re.Match, where: str, found: dict) -> None:
        label = (m.group(1) or "").strip()
        tail = text[e:e + 32768]
        end = tail.find("-----END")
        body = tail if end == -1 else tail[:end]
        body = body.replace("\\r", "\n").replace("\\n", "\n")
        encrypted = label == "ENCRYPTED"
        b64 = []
        for line in body.splitlines():
            line = line.strip().strip('"\',')
            if not line:
                continue
            if ":" in line:  # Proc-Type: 4,ENCRYPTED / DEK-Info / PGP armour headers
                encrypted = encrypted or "ENCRYPTED" in line.upper()
                continue
            if line.startswith("=") and len(line) <= 5:  # PGP armour checksum
                continue
            b64.append(re.sub(r"[^A-Za-z0-9+/=]", "", line))
        data = "".join(b64)
        if len(data) < 64:
            return  # a header without a key: documentation, not a key
        if label == "OPENSSH" and "bcrypt" in _b64_prefix(data):
            encrypted = True
        key_type = {"": "PKCS8", "ENCRYPTED": "PKCS8"}.get(label, label)
        self._add(found, "private_key", data, where, key_type=key_type, encrypted=encrypted,
                  complete=end != -1)

    def _aws(self, text: str, s: int, e: int, key_id: str, where: str, found: dict) -> None:
        secret = None
        if "aws_secret_access_key" in self.kinds:
            lo = max(0, s - 256)
            region = text[lo:e + 256]
            best = None
            for m in _AWS_SECRET_RE.finditer(region):
                value = m.group()
                if not _mixed(value) or value == key_id:
                    continue
                distance = abs(m.start() + lo - s)
                if best is None or distance < best[0]:
                    best = (distance, value)
            secret = best[1] if best else None
        if secret is not None and (self.params.include_examples or secret not in EXAMPLES):
            self._add(found, "aws_secret_access_key", secret, where, paired=True,
                      key_id_masked=mask_middle(key_id))
        self._add(found, "aws_access_key_id", key_id, where, paired=secret is not None,
                  temporary=key_id.startswith("ASIA"))

    def _jwt(self, token: str, where: str, found: dict) -> None:
        head, payload, _sig = token.split(".")
        header = _b64url_json(head)
        if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
            return
        info = {"alg": header["alg"][:16]}
        claims = _b64url_json(payload)
        if isinstance(claims, dict) and isinstance(claims.get("exp"), (int, float)):
            info["exp"] = int(claims["exp"])
        self._add(found, "jwt", token, where, **info)


def _b64_prefix(data: str) -> str:
    try:
        return base64.b64decode(data[:96] + "=" * (-len(data[:96]) % 4)).decode("latin-1")
    except (binascii.Error, ValueError):
        return ""
