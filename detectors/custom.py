"""User rules: regular expressions and keyword lists from the rules file.

    custom:
      timeout_ms: 100
      rules:
        - id: 3000001
          name: "Project Falcon documents"
          keywords: ["project falcon", "falcon-internal"]
          nocase: true
          min_count: 2
        - id: 3000002
          name: "Employee numbers"
          regex: ['\\bEMP-[0-9]{6}\\b']
          min_count: 5

Patterns use the `regex` module's syntax and are compiled when the rules file is loaded: a
pattern that does not compile, or that can match the empty string, is an error there
(FILE:LINE). Every search runs with a timeout, so a pathological pattern (`(a+)+$` against
"aaaa…b") costs at most `timeout_ms` per window: it is then abandoned for the rest of the
transaction, counted in `timeouts` (and per rule in `anomalies`) and logged, and never
raises a finding by itself.

A rule fires when its matches (all patterns and keywords together, non-overlapping, zero-width
matches ignored) in one transaction reach `min_count`; one finding per rule per transaction:
`dlp = {"rule": name, "count": n, "samples": [...]}`. Samples are masked and at most 24
characters: keyword hits show the keyword (it is policy, not data), regex hits show a third
of the match (at most 12 characters), an ellipsis and its last two characters.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import regex
import structlog

from detectors.base import Finding, HttpTransaction
from detectors.text.mask import snippet
from detectors.text.scope import (
    DEFAULT_EXCLUDED_TYPES, DIRECTIONS, Direction, host_matches, host_of, normalize_domains,
    part_type, type_selected, validate_domains,
)
from detectors.text.windows import DEFAULT_WINDOW, windows

log = structlog.get_logger("dlp.detect.custom")
LEAD = 64  # characters before each window the engine sees, for look-behinds and \b


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str, nocase: bool):
    """The compiled pattern; ValueError with a readable reason when it is not usable."""
    try:
        compiled = regex.compile(pattern, regex.IGNORECASE if nocase else 0)
    except regex.error as exc:
        raise ValueError(f"regex {pattern!r} does not compile: {exc}") from None
    except (OverflowError, RecursionError, MemoryError) as exc:  # huge repeat counts etc.
        raise ValueError(f"regex {pattern!r} is too complex: {exc}") from None
    try:
        empty = compiled.match("", timeout=0.5)
    except TimeoutError:
        empty = None
    if empty is not None:
        raise ValueError(f"regex {pattern!r} matches the empty string (it would match everywhere)")
    return compiled


@lru_cache(maxsize=1024)
def compile_keywords(keywords: tuple[str, ...], nocase: bool, whole_word: bool):
    body = "|".join(regex.escape(k) for k in sorted(set(keywords), key=len, reverse=True))
    if whole_word:
        body = rf"(?<!\w)(?:{body})(?!\w)"
    return regex.compile(body, regex.IGNORECASE if nocase else 0)


@dataclass(frozen=True)
class CustomRule:
    id: int
    name: str
    regex: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    nocase: bool = False  # case-insensitive patterns and keywords
    whole_word: bool = False  # keywords must not be glued to word characters
    min_count: int = 1
    severity: int = 2
    direction: Direction = "toserver"
    category: str = "Potential Corporate Privacy Violation"

    def __post_init__(self) -> None:
        if self.id < 1:
            raise ValueError("id must be a positive integer")
        if not self.name.strip():
            raise ValueError("name must not be empty")
        if not self.regex and not self.keywords:
            raise ValueError(f"rule {self.name!r} needs 'regex' patterns or 'keywords'")
        for pattern in self.regex:
            if not pattern:
                raise ValueError(f"rule {self.name!r}: empty regex")
            compile_pattern(pattern, self.nocase)
        for keyword in self.keywords:
            if not keyword.strip():
                raise ValueError(f"rule {self.name!r}: empty keyword")
        if self.min_count < 1:
            raise ValueError("min_count must be at least 1")
        if not 1 <= self.severity <= 4:
            raise ValueError("severity must be 1 (high) to 4 (low)")


@dataclass(frozen=True)
class CustomParams:
    rules: tuple[CustomRule, ...] = ()
    timeout_ms: int = 100  # per search of one window by one pattern
    max_samples: int = 3
    count_limit: int = 1000  # stop counting a rule's matches in a transaction past this
    max_match_chars: int = 4096  # longest match found whole across window boundaries
    window_chars: int = DEFAULT_WINDOW
    allow_hosts: tuple[str, ...] = ()
    content_types: tuple[str, ...] = ()
    exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_TYPES

    def __post_init__(self) -> None:
        ids = [r.id for r in self.rules]
        dup = [i for i, n in Counter(ids).items() if n > 1]
        if dup:
            raise ValueError(f"rule id {dup[0]} is used twice")
        if self.timeout_ms < 1:
            raise ValueError("timeout_ms must be positive")
        if self.max_samples < 0:
            raise ValueError("max_samples must be 0 or more")
        if self.count_limit < 1:
            raise ValueError("count_limit must be positive")
        if self.max_match_chars < 1:
            raise ValueError("max_match_chars must be positive")
        if self.window_chars < 2 * self.max_match_chars:
            raise ValueError("window_chars must be at least twice max_match_chars")
        validate_domains(self.allow_hosts, "allow_hosts")


@dataclass(frozen=True)
class _Matcher:
    pattern: object  # compiled regex
    keyword: bool


@dataclass(frozen=True)
class _Compiled:
    rule: CustomRule
    matchers: tuple[_Matcher, ...]
    directions: frozenset[int]


class CustomDetector:
    name = "custom"
    inputs = frozenset({"http"})  # HTTP transactions only, never raw stream chunks
    Params = CustomParams

    def __init__(self, params: CustomParams | None = None):
        p = self.params = params or CustomParams()
        self.rules = []
        for r in p.rules:
            matchers = [_Matcher(compile_pattern(x, r.nocase), False) for x in r.regex]
            if r.keywords:
                matchers.append(_Matcher(compile_keywords(r.keywords, r.nocase, r.whole_word), True))
            self.rules.append(_Compiled(r, tuple(matchers), DIRECTIONS[r.direction]))
        self.directions = frozenset(d for c in self.rules for d in c.directions)
        self.allow = normalize_domains(p.allow_hosts)
        self.timeout = p.timeout_ms / 1000.0
        self.timeouts = 0  # searches abandoned on timeout, all rules
        self.anomalies: Counter = Counter()  # rule name -> searches abandoned

    def applies(self, item) -> bool:
        return type(item) is HttpTransaction and item.direction in self.directions

    def inspect(self, tx: HttpTransaction) -> list[Finding]:
        p = self.params
        if self.allow and host_matches(host_of(tx), self.allow):
            return []
        texts = [part.text for part in tx.parts
                 if part.text and type_selected(part_type(part, tx), p.content_types, p.exclude_content_types)]
        findings = []
        for compiled in self.rules:
            rule = compiled.rule
            if tx.direction not in compiled.directions:
                continue
            count, samples = self._count(compiled, texts)
            if count >= rule.min_count:
                extra = {"rule": rule.name, "count": count, "samples": samples}
                if count >= p.count_limit:
                    extra["count_limited"] = True
                findings.append(Finding(detector=self.name, signature_id=rule.id, signature=rule.name,
                                        category=rule.category, severity=rule.severity,
                                        direction=tx.direction, rule=rule.name, extra=extra))
        return findings

    def _count(self, compiled: _Compiled, texts: list[str]) -> tuple[int, list[str]]:
        p = self.params
        count, samples = 0, []
        for matcher in compiled.matchers:
            for text in texts:
                for win in windows(text, p.window_chars, overlap=p.max_match_chars, lead=LEAD):
                    try:
                        for m in matcher.pattern.finditer(win.chunk, timeout=self.timeout):
                            if m.end() == m.start() or not win.owns(m.start()):
                                continue
                            count += 1
                            if len(samples) < p.max_samples:
                                sample = m.group()[:24] if matcher.keyword else snippet(m.group())
                                if sample not in samples:
                                    samples.append(sample)
                            if count >= p.count_limit:
                                return count, samples
                    except TimeoutError:
                        self._timed_out(compiled.rule)
                        break  # abandon this pattern for the rest of the transaction
                else:
                    continue
                break
        return count, samples

    def _timed_out(self, rule: CustomRule) -> None:
        self.timeouts += 1
        self.anomalies[rule.name] += 1
        n = self.anomalies[rule.name]
        if n == 1 or n % 100 == 0:
            log.warning("custom_regex_timeout", rule=rule.name, rule_id=rule.id, times=n,
                        timeout_ms=self.params.timeout_ms)
