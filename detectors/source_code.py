"""Program source leaving in HTTP uploads: is a body part source code, in which language, and
is it one of the company's own files?

Each decoded part of a transaction (whole body, form field, multipart file, zip member, JSON
string value) is classified by detectors.code.classifier — a transparent rule-based scorer
(per-language line patterns, generic code syntax, negatives for prose, logs, stack traces,
data, markup and config; minified/bundled JavaScript, HTML pages, JSON documents and base64
blobs are rejected outright). A part counts when its best contiguous code region has at least
`min_lines` non-blank lines and the confidence reaches `min_confidence`. Snippets still
escaped inside a JSON or form body (`\\n`, `%0A`) are unescaped first. Several small source
files of one upload (an archive of short files) count together when each has a source
file extension and they add up to `min_lines`.

With a fingerprint index of the company's repositories (detectors.code.fingerprint; build it
with `python -m detectors.code.fingerprint build OUT NAME=DIR ...`), code parts are matched
against it; a match at `fingerprint_min_similarity` or above names the repository and file
and raises the severity to `fingerprint_severity`.

One finding per transaction. Stack traces are logs here, not source (see classifier.py).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_plus

from detectors.base import TOCLIENT, TOSERVER, Finding, HttpTransaction
from detectors.code.classifier import Result, classify
from detectors.code.languages import LANGUAGES, language_from_filename

Language = Literal["python", "c_cpp", "java", "javascript", "go", "rust", "shell", "sql", "php",
                   "csharp"]
DIRECTIONS = {"toserver": (TOSERVER,), "toclient": (TOCLIENT,), "both": (TOSERVER, TOCLIENT)}

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_MAX_FP_PARTS = 8  # code parts matched against the fingerprint index per transaction


@dataclass(frozen=True)
class SourceCodeParams:
    # Minimum non-blank lines of a contiguous code region (per part).
    min_lines: int = 15
    # Minimum classifier confidence (0..1) for a part to count.
    min_confidence: float = 0.5
    # Languages that raise an alert.
    languages: tuple[Language, ...] = LANGUAGES  # type: ignore[assignment]
    # toserver: uploads (default); toclient: downloads; both.
    direction: Literal["toserver", "toclient", "both"] = "toserver"
    severity: int = 2
    signature_id: int = 2300001
    signature: str = "DLP source code upload"
    category: str = "Potential Corporate Privacy Violation"
    # Fingerprint index of the company's repositories ("" = none).
    fingerprint_index: str = ""
    # Shared fingerprints / fingerprints of the part needed to name a repository file.
    fingerprint_min_similarity: float = 0.35
    # Severity when the code matches the company's index.
    fingerprint_severity: int = 1
    # Alert only on code that matches the index (needs fingerprint_index).
    require_fingerprint: bool = False
    # Destination host suffixes where uploading source is allowed (never alert), e.g. the
    # company's own git server; and suffixes where it is worse (paste sites): deny_severity.
    allow_hosts: tuple[str, ...] = ()
    deny_hosts: tuple[str, ...] = ()
    deny_severity: int = 1
    # Content-type prefixes (of the transaction or a part) never inspected.
    exclude_content_types: tuple[str, ...] = ("image/", "audio/", "video/", "font/")
    # Parts inspected per transaction, and file names listed in the alert.
    max_parts: int = 64
    max_files: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.min_lines <= 100000:
            raise ValueError("min_lines must be 1..100000")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError("min_confidence must be between 0 and 1")
        if not 0.0 < self.fingerprint_min_similarity <= 1.0:
            raise ValueError("fingerprint_min_similarity must be in (0, 1]")
        for what in ("severity", "fingerprint_severity", "deny_severity"):
            if not 1 <= getattr(self, what) <= 4:
                raise ValueError(f"{what} must be 1 (high) to 4 (low)")
        if not self.languages:
            raise ValueError("languages must name at least one language")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages lists a language twice")
        if self.require_fingerprint and not self.fingerprint_index:
            raise ValueError("require_fingerprint needs fingerprint_index")
        if self.fingerprint_index and not os.path.isfile(self.fingerprint_index):
            raise ValueError(f"fingerprint_index {self.fingerprint_index!r} does not exist "
                             "(build it with: python -m detectors.code.fingerprint build ...)")
        for host in self.allow_hosts + self.deny_hosts:
            if not host.strip(". "):
                raise ValueError("empty host suffix")
        if self.max_parts < 1 or self.max_files < 1:
            raise ValueError("max_parts and max_files must be at least 1")


@dataclass
class _Hit:
    label: str
    result: Result
    text: str


class SourceCodeDetector:
    name = "source_code"
    inputs = frozenset({"http"})  # HTTP transactions only, never raw stream chunks
    Params = SourceCodeParams

    def __init__(self, params: SourceCodeParams | None = None):
        self.params = p = params or SourceCodeParams()
        self.directions = frozenset(DIRECTIONS[p.direction])
        self.languages = frozenset(p.languages)
        self.allow = tuple(_suffix(h) for h in p.allow_hosts)
        self.deny = tuple(_suffix(h) for h in p.deny_hosts)
        self.excluded = tuple(c.lower() for c in p.exclude_content_types)
        self.index = None
        if p.fingerprint_index:
            from detectors.code.fingerprint import FingerprintIndex
            self.index = FingerprintIndex.load(p.fingerprint_index)

    def applies(self, item) -> bool:
        return (isinstance(item, HttpTransaction) and item.direction in self.directions
                and bool(item.parts) and not _host_in(item.host, self.allow)
                and not self._excluded(item.content_type))

    def inspect(self, tx: HttpTransaction) -> list[Finding]:
        p = self.params
        hits: list[_Hit] = []
        small: list[_Hit] = []
        near: list[_Hit] = []  # code-ish parts below the bar: fingerprint candidates
        seen: set[int] = set()
        for part in tx.parts[:p.max_parts]:
            text = part.text
            if not text or self._excluded(part.content_type):
                continue
            key = hash(text)
            if key in seen:
                continue
            seen.add(key)
            label = _label(part)
            best: Result | None = None
            best_text = text
            for cand in _candidates(text, p.min_lines):
                r = classify(cand, part.filename, p.min_lines)
                if best is None or (r.is_code, r.confidence) > (best.is_code, best.confidence):
                    best, best_text = r, cand
                if r.is_code and r.confidence >= p.min_confidence:
                    break
            if best is None:
                continue
            if best_text is not text:
                key = hash(best_text)
                if key in seen:
                    continue  # the same snippet as another part (escaped body vs decoded value)
                seen.add(key)
            if best.is_code and best.confidence >= p.min_confidence:
                hits.append(_Hit(label, best, best_text))
                continue
            if best.reason == "too_short" and language_from_filename(part.filename):
                r = classify(best_text, part.filename, max(3, p.min_lines // 3))
                if r.is_code and r.confidence >= p.min_confidence:
                    small.append(_Hit(label, r, best_text))
                    continue
            if self.index is not None and best.code_lines >= 5:
                near.append(_Hit(label, best, best_text))
        if len(small) >= 2 and sum(h.result.lines for h in hits + small) >= p.min_lines:
            hits += small  # an archive of short source files
        hits = [h for h in hits if h.result.language in self.languages]

        fingerprint = None
        if self.index is not None:
            ranked = sorted(hits, key=lambda h: h.result.lines, reverse=True)[:_MAX_FP_PARTS]
            ranked += near[:max(0, _MAX_FP_PARTS - len(ranked))]
            best_match = None
            for h in ranked:
                m = self.index.match(h.text)
                if m and m.similarity >= p.fingerprint_min_similarity and \
                        (best_match is None or m.similarity > best_match[0].similarity):
                    best_match = (m, h)
            if best_match:
                m, h = best_match
                fingerprint = {"repo": m.repo, "path": m.path, "similarity": m.similarity,
                               "part": h.label}
                if h not in hits:
                    hits.append(h)
        if not hits or (p.require_fingerprint and fingerprint is None):
            return []

        lines_by_lang: dict[str, int] = {}
        for h in hits:
            lang = h.result.language or "unknown"
            lines_by_lang[lang] = lines_by_lang.get(lang, 0) + h.result.lines
        language = max(lines_by_lang, key=lambda k: (lines_by_lang[k], k))
        extra = {
            "language": language,
            "lines": sum(lines_by_lang.values()),
            "confidence": round(max(h.result.confidence for h in hits), 3),
            "files": [h.label for h in hits[:p.max_files]],
            "parts": len(hits),
        }
        if len(lines_by_lang) > 1:
            extra["languages"] = lines_by_lang
        severity = p.severity
        if fingerprint:
            extra["fingerprint"] = fingerprint
            severity = min(severity, p.fingerprint_severity)
        if _host_in(tx.host, self.deny):
            severity = min(severity, p.deny_severity)
        return [Finding(detector=self.name, signature_id=p.signature_id, signature=p.signature,
                        category=p.category, severity=severity, direction=tx.direction,
                        rule=p.signature, extra=extra)]

    def _excluded(self, content_type: str | None) -> bool:
        return bool(content_type) and content_type.lower().lstrip().startswith(self.excluded)


def _suffix(host: str) -> str:
    return host.strip().lower().lstrip("*").strip(".")


def _host_in(host: str | None, suffixes: tuple[str, ...]) -> bool:
    if not host or not suffixes:
        return False
    h = host.strip().lower()
    if h.startswith("["):
        h = h[1:h.find("]")] if "]" in h else h
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    h = h.rstrip(".")
    return any(h == s or h.endswith("." + s) for s in suffixes)


def _label(part) -> str:
    if part.filename:
        return part.filename
    for step in reversed(part.path):
        if ":" in step:
            kind, _, rest = step.partition(":")
            if rest and kind in ("zip", "tar", "multipart", "form", "json"):
                return rest
    return part.name or (part.path[-1] if part.path else "body")


def _candidates(text: str, min_lines: int):
    """The text itself, then, when it has too few real lines but many escaped ones, the
    snippets still escaped inside it (JSON string values, form fields)."""
    yield text
    if text.count("\n") + 1 >= min_lines:
        return
    need = max(1, min_lines - 1)
    if text.count("\\n") >= need:
        found = False
        for m in _JSON_STRING.finditer(text[:4 * 1024 * 1024]):
            s = m.group()
            if s.count("\\n") >= need:
                try:
                    value = json.loads(s)
                except ValueError:
                    continue
                found = True
                yield value
        if not found:
            yield (text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\t", "\t")
                   .replace('\\"', '"'))
    lower = text[:4 * 1024 * 1024]
    if lower.count("%0A") + lower.count("%0a") >= need:
        for field in lower.split("&"):
            value = unquote_plus(field.partition("=")[2] if "=" in field else field)
            if value.count("\n") >= need:
                yield value
