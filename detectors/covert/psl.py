"""Registered domain ("eTLD+1") of a DNS name from an offline Public Suffix List.

The list is Debian's `publicsuffix` package copy (MPL-2.0, header kept), committed as
detectors/data/public_suffix_list.dat: the appliance never fetches anything. Rules follow
https://publicsuffix.org/list/ : the longest matching rule wins, `*` matches one label,
`!` exceptions beat wildcards, and an unlisted TLD is its own public suffix ("*" rule).
Names are bytes (tunnels put raw 8-bit bytes in labels); IDN rules are matched in their
punycode form, as names travel on the wire.
"""

from __future__ import annotations

import os

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "public_suffix_list.dat")


class PublicSuffixList:
    def __init__(self, rules: set[bytes], wildcards: set[bytes], exceptions: set[bytes]):
        self.rules = rules  # "co.uk"
        self.wildcards = wildcards  # "ck" for "*.ck"
        self.exceptions = exceptions  # "www.ck" for "!www.ck"
        self._cache: dict[bytes, bytes] = {}

    @classmethod
    def load(cls, path: str = DEFAULT_PATH) -> "PublicSuffixList":
        with open(path, "rb") as fh:
            return cls.parse(fh.read())

    @classmethod
    def parse(cls, text: bytes) -> "PublicSuffixList":
        rules, wildcards, exceptions = set(), set(), set()
        for raw in text.splitlines():
            line = raw.split(None, 1)[0].strip() if raw.strip() else b""
            if not line or line.startswith(b"//"):
                continue
            rule = _to_ascii(line.lower())
            if rule.startswith(b"!"):
                exceptions.add(rule[1:])
            elif rule.startswith(b"*."):
                wildcards.add(rule[2:])
            else:
                rules.add(rule)
        return cls(rules, wildcards, exceptions)

    def suffix_labels(self, labels: list[bytes]) -> int:
        """How many trailing labels of `labels` form the public suffix (at least 1)."""
        best = 1
        for i in range(len(labels) - 1, -1, -1):
            candidate = b".".join(labels[i:])
            n = len(labels) - i
            if candidate in self.exceptions:
                return n - 1
            if candidate in self.rules:
                best = n
            if i > 0 and candidate in self.wildcards:
                best = n + 1
        return best

    def registered_domain(self, name: bytes) -> bytes:
        """The public suffix plus one label ("www.bbc.co.uk" -> "bbc.co.uk"); a name that is
        itself a public suffix (or empty) is returned as it is."""
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        labels = name.rstrip(b".").lower().split(b".")
        n = self.suffix_labels(labels) + 1
        result = b".".join(labels[-n:]) if len(labels) >= n else name.rstrip(b".").lower()
        if len(self._cache) > 65536:  # bounded: tunnels make endless distinct names
            self._cache.clear()
        self._cache[name] = result
        return result


def _to_ascii(rule: bytes) -> bytes:
    """IDN rules in punycode, as they appear in DNS messages."""
    try:
        rule.decode("ascii")
        return rule
    except UnicodeDecodeError:
        prefix = b"!" if rule.startswith(b"!") else b"*." if rule.startswith(b"*.") else b""
        body = rule[len(prefix):].decode("utf-8")
        return prefix + b".".join(p.encode("idna") if any(ord(c) > 127 for c in p) else p.encode()
                                  for p in body.split("."))


_DEFAULT: PublicSuffixList | None = None


def default_list() -> PublicSuffixList:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = PublicSuffixList.load()
    return _DEFAULT
