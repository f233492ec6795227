"""Payment card numbers (PANs) in decoded HTTP bodies.

How a number is found (all of it documented because each rule is a false-positive trade):

* Candidates are runs of digit groups joined by single separators: space, dash, and their
  URL-encoded forms `+`, `%20`, `%2D`. A run is taken whole: it must be one card by itself
  (12-19 digits, one separator kind, card-like grouping: groups of four and a last group of
  1-4, or 4-6-5 / 4-6-4) - a card is never cut out of a longer number (`1234-4111111111111111`, a 20-digit
  id, a fully numeric UUID). Space is also how text separates values, so a space-joined run
  that is not one card is split at its spaces and the pieces are judged alone (an
  unseparated 12-19-digit piece, or a 4-4-4-4 / 4-6-5 / 4-6-4 / 4-4-4-4-3 head or tail whose
  neighbour group does not continue the grouping): `4111111111111111 12/25` keeps its card,
  `1234 5678 9012 3456 7890` gives nothing.
* A run glued to a letter, digit or `_` on either side is not a card (hex, IBANs, tokens);
  URL escapes (`%22`, `%3D`) and JSON escapes (`\\n`) count as the characters they encode.
  Also rejected: a decimal point on either side followed/preceded by digits (floats such as
  `4111111111111111.5`), a leading `-` or `%2D` (negative numbers, dash-joined ids), a leading
  `+` (international phone numbers), a trailing `-` joined to letters/digits (UUID-like).
* Then: the Luhn check; a brand whose IIN range *and* length match (`data/iin_ranges.csv`,
  longest prefix wins); not a valid IBAN around it (mod-97); not 13/16/19 digits starting
  `15`-`19` (epoch milli/micro/nanoseconds); not one repeated digit. Known test numbers
  (`data/test_pans.txt`) are kept, marked `"test": true`, and by default not counted.

Confidence (0..1) comes from the words around the match:
* the *key* right before the value (JSON key, form field, XML tag, `Label:` text) or, in
  CSV-like text, the column header: card words (card_number, cc, pan, cvv, visa...) -> 0.95;
  order/invoice/tracking/phone/timestamp/iban/uuid/...-ish keys or `*_id` -> 0.1;
* otherwise words within 64 characters: card words (or an MM/YY expiry right after the
  number) -> 0.8; negative words -> 0.25; both -> 0.55; none -> 0.5 (0.6 when grouped like a
  printed card).

Thresholds count DISTINCT valid numbers at or above `min_confidence` (test numbers excluded
unless `count_test_numbers`): a message alerts with `min_distinct_with_context` numbers at or
above `context_confidence`, or `min_distinct` numbers of any confidence; a flow with
`flow_min_distinct`, a client IP with `host_min_distinct` within `window_seconds` (0 disables
a scope). Flow and host alerts fire once per window.

Order ids and other numeric ids: a random 16-digit id passes the brand and Luhn checks about
2-3% of the time. They are handled by (1) context: an `order_id`/`invoice`/`tracking`/`*_id`
key, column header or nearby word makes them uncounted; (2) thresholds: one context-free
number never alerts a message by default; (3) the Luhn ratio: real card data is ~100%
Luhn-valid and branded while random ids are ~2-3%, so when more than `luhn_allowance` of the
well-formed 12-19-digit candidates seen (in a message, a flow or a host's window; negative
context and timestamps left out) are not valid cards, and more than the share
`1 - min_luhn_ratio` of them, the valid ones are taken for chance hits and only numbers with
card context count there. A mixed dump of bare cards and bare ids therefore needs context.

Cost is bounded: text is scanned in windows (`window_chars`); the context of at most 2000
failed candidates per message is examined; a message stops being scanned after `max_numbers`
distinct valid numbers (`"scan_stopped": true`, `distinct` is then a lower bound).

Privacy: full numbers live only inside one `inspect` call. Alerts carry the masked number
(first 6 / last 4) and an HMAC-SHA256 with the per-install key (`dlp.install_key`); flow and
host state keep 64-bit prefixes of those hashes, never numbers.
"""

from __future__ import annotations

import csv
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_plus

from detectors.base import Finding, HttpTransaction
from detectors.session.bounded import LruMap
from detectors.text.mask import keyed_hash, mask_pan
from detectors.text.scope import (
    DEFAULT_EXCLUDED_TYPES, DIRECTIONS, Direction, host_matches, host_of, normalize_domains,
    part_type, part_where, type_selected, validate_domains,
)
from detectors.text.windows import DEFAULT_WINDOW, windows
from detectors.params import check_positive, check_severity
from dlp.install_key import load_or_create_key

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
IIN_FILE = os.path.join(DATA_DIR, "iin_ranges.csv")
TEST_PANS_FILE = os.path.join(DATA_DIR, "test_pans.txt")

# A maximal run: 1-19 digits, then up to 7 more groups each after one separator. The first
# digit may not be the hex digit of a URL escape (`%22`, `%2C`). Runs that the caps cut short
# are rejected by the boundary check (a digit or separator+digit follows).
_SEP = r"(?:[ \-+]|%20|%2[dD])"
# The look-ahead (at least 12 digits through single separators) makes short runs - dates,
# amounts, small ids - fail inside the regex engine instead of costing a Python iteration.
RUN_RE = re.compile(r"[0-9](?<!%[0-9])(?<!%[0-9A-Fa-f][0-9])(?=(?:" + _SEP + r"?[0-9]){11})"
                    r"[0-9]{0,18}(?:" + _SEP + r"[0-9]{1,19}){0,7}")
_SPLIT_RE = re.compile(r"([ \-+]|%20|%2[dD])")
_STRIP_SEPS_RE = re.compile(r"%2[0dD]|[ \-+]")
_HEX = frozenset("0123456789abcdefABCDEF")
_SPACE_SEPS = frozenset((" ", "+", "%20"))
_LAYOUTS = ((4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3))
MAX_RUN = 8 * 19 + 7 * 3
CONTEXT_FOR_INVALID = 2000  # Luhn failures per message whose context is looked at (CPU bound)

_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")
_EXPIRY_RE = re.compile(r"\W{0,12}(?:(?:exp\w*|valid\w*|thru)\W{0,4})?(?:0[1-9]|1[0-2]) ?[/\-] ?(?:[0-9]{2}|20[0-9]{2})(?![0-9])", re.I)
_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_KEY_TAIL_RE = re.compile(r"[A-Za-z0-9_\-]{1,40}(?:[ .][A-Za-z0-9_\-]{1,40}){0,3}$")  # a label: 1-4 words
_ESC_RE = re.compile(r"\\[nrtbf]|\\u00[0-9a-fA-F]{2}")

# Words that make a number next to them a card number. STRONG ones count anywhere within the
# context window; KEY_ONLY ones (common English or code words) only as the value's own key.
STRONG_WORDS = frozenset("""
    card cards cardnumber cardnum cardno cardholder creditcard credit debit ccnum ccnumber ccn
    cvv cvv2 cvc cvc2 cvn csc expiry expiration expires expdate mastercard amex americanexpress unionpay
    maestro jcb diners kreditkarte karte kartennummer carte tarjeta cartao pan primary
""".split())
KEY_ONLY_WORDS = frozenset("cc pan visa discover exp mc acct payment".split())
NEGATIVE_WORDS = frozenset("""
    order orders orderid ordernumber invoice inv tracking track trackingnumber shipment shipping
    parcel awb phone tel telephone mobile cell fax msisdn imei imsi ts timestamp epoch
    iban bic swift uuid guid isbn ean upc gtin sku serial ref reference txn
    transaction trace request session correlation
""".split())
_ID_TAILS = frozenset(("id", "ids", "key"))
_ABBREVIATIONS = frozenset(("no", "nr", "num", "nbr", "acct", "exp"))


# ---------------------------------------------------------------------------------- data files

@dataclass(frozen=True)
class _Range:
    brand: str
    start: int
    end: int
    digits: int  # prefix length
    lengths: frozenset[int]


@lru_cache(maxsize=8)
def load_iin_table(path: str = IIN_FILE) -> tuple[tuple[int, tuple[_Range, ...]], ...]:
    """((prefix length, ranges), ...) longest prefix first. ValueError names file:line."""
    by_len: dict[int, list[_Range]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [(i, line) for i, line in enumerate(fh, 1) if line.strip() and not line.lstrip().startswith("#")]
    for (lineno, line), row in zip(rows, csv.reader(line for _, line in rows)):
        if [c.strip().lower() for c in row] == ["brand", "start", "end", "lengths"]:
            continue
        try:
            brand, start, end, lengths = (c.strip() for c in row)
            if len(start) != len(end) or not start.isdigit() or not end.isdigit() or int(start) > int(end):
                raise ValueError("start and end must be digit prefixes of one length, start <= end")
            allowed: set[int] = set()
            for item in lengths.split(";"):
                lo, _, hi = item.partition("-")
                allowed.update(range(int(lo), int(hi or lo) + 1))
            if not allowed or min(allowed) < 12 or max(allowed) > 19:
                raise ValueError("lengths must lie within 12-19")
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: bad IIN row {line.strip()!r}: {exc}") from None
        by_len.setdefault(len(start), []).append(_Range(brand, int(start), int(end), len(start), frozenset(allowed)))
    return tuple((n, tuple(by_len[n])) for n in sorted(by_len, reverse=True))


@lru_cache(maxsize=8)
def load_test_numbers(path: str = TEST_PANS_FILE) -> frozenset[str]:
    out = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            value = line.split("#", 1)[0].strip().replace(" ", "").replace("-", "")
            if value:
                out.add(value)
    return frozenset(out)


def brand_of(digits: str, table) -> str | None:
    """The brand of the most specific IIN range that matches the prefix and allows the length."""
    n = len(digits)
    for plen, ranges in table:
        prefix = int(digits[:plen])
        for r in ranges:
            if r.start <= prefix <= r.end and n in r.lengths:
                return r.brand
    return None


@lru_cache(maxsize=8)
def prefix_index(table) -> tuple[tuple[int, dict[str, tuple[tuple[str, frozenset[int]], ...]]], ...]:
    """The IIN table expanded to exact prefixes: ((prefix length, {prefix: ((brand, lengths),
    ...)}), ...), longest first. A few thousand entries; lookups cost one dict probe per length."""
    out = []
    for plen, ranges in table:
        index: dict[str, list] = {}
        for r in ranges:
            for value in range(r.start, r.end + 1):
                index.setdefault(str(value).zfill(plen), []).append((r.brand, r.lengths))
        out.append((plen, {k: tuple(v) for k, v in index.items()}))
    return tuple(out)


def fast_brand(digits: str, index) -> str | None:
    """brand_of() through prefix_index()."""
    n = len(digits)
    for plen, by_prefix in index:
        rows = by_prefix.get(digits[:plen])
        if rows:
            for brand, lengths in rows:
                if n in lengths:
                    return brand
    return None


_DOUBLED = str.maketrans("0123456789", "0246813579")  # digit -> digit sum of its double


def luhn_ok(digits: str) -> bool:
    return sum(map(int, digits[-1::-2] + digits[-2::-2].translate(_DOUBLED))) % 10 == 0


def iban_ok(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


# -------------------------------------------------------------------------- boundary checks

def _escape_at(text: str, i: int) -> str | None:
    """The character a `%XX` escape starting at i encodes, if there is one."""
    if 0 <= i and text[i:i + 1] == "%" and len(text) >= i + 3 and text[i + 1] in _HEX and text[i + 2] in _HEX:
        return chr(int(text[i + 1:i + 3], 16))
    return None


def left_ok(text: str, s: int) -> bool:
    if s == 0:
        return True
    ch = _escape_at(text, s - 3)
    if ch is not None:
        return not (ch.isalnum() or ch in "+-._")
    c = text[s - 1]
    if s >= 2 and text[s - 2] == "\\" and c in "nrtbf":
        return True
    if c.isalnum() or c == "_" or c == "-":
        return False
    if c == ".":
        return not (s >= 2 and text[s - 2].isdigit())
    if c == "+":  # "+4930..." is a phone number; "card+4111..." a form-encoded space
        return s >= 2 and text[s - 2].isalpha()
    return True


def right_ok(text: str, e: int) -> bool:
    n = len(text)
    if e >= n:
        return True
    c = text[e]
    nxt = text[e + 1] if e + 1 < n else ""
    if c == "%":
        ch = _escape_at(text, e)
        if ch is not None:
            return not (ch.isalnum() or ch == "_") and not (ch in ".-" and text[e + 3:e + 4].isalnum())
        return True
    if c == "\\" and nxt and nxt in "nrtbf":
        return True
    if c.isalnum() or c == "_":
        return False
    if c == "." and nxt.isdigit():
        return False
    if c == "-" and nxt.isalnum():
        return False
    return True


def _layout_ok(lens: list[int]) -> bool:
    if not 12 <= sum(lens) <= 19:
        return False
    if len(lens) >= 3 and all(x == 4 for x in lens[:-1]) and 1 <= lens[-1] <= 4:
        return True
    return tuple(lens) in ((4, 6, 5), (4, 6, 4))


def split_run(run: str) -> tuple[tuple[int, int, bool] | None, list[tuple[int, int, bool]]]:
    """Card candidates in one maximal run, as (start, end, grouped) offsets within it: the
    whole run when it is card-shaped, and, for space-joined runs, the pieces to judge alone
    when the whole run is not a valid card."""
    parts = _SPLIT_RE.split(run)
    groups, seps, pos = [], [], 0
    for i, p in enumerate(parts):
        if i % 2 == 0:
            groups.append((pos, pos + len(p)))
        else:
            seps.append(p.lower())
        pos += len(p)
    if len(groups) == 1:
        return ((0, len(run), False) if 12 <= len(run) <= 19 else None), []
    lens = [e - s for s, e in groups]
    whole = (0, len(run), True) if len(set(seps)) == 1 and _layout_ok(lens) else None
    if not any(sep in _SPACE_SEPS for sep in seps):
        return whole, []  # joined by dashes only: one token
    # Split at the spaces: segments of dash-joined groups, judged alone.
    subs = []
    segments: list[tuple[int, int]] = []  # group index ranges [a, b)
    a = 0
    for i, sep in enumerate(seps):
        if sep in _SPACE_SEPS:
            segments.append((a, i + 1))
            a = i + 1
    segments.append((a, len(groups)))
    for a, b in segments:
        if b - a == 1:
            if 12 <= lens[a] <= 19:
                subs.append((groups[a][0], groups[a][1], False))
        elif len(set(seps[a:b - 1])) == 1 and _layout_ok(lens[a:b]):
            subs.append((groups[a][0], groups[b - 1][1], True))
    # Space-grouped cards at the head or tail of the run, whose neighbour group does not
    # continue the grouping (only single-group segments).
    seg_lens = [lens[a] if b - a == 1 else -1 for a, b in segments]
    k = len(segments)
    for layout in _LAYOUTS:
        m = len(layout)
        if k <= m:
            continue
        if tuple(seg_lens[:m]) == layout and seg_lens[m] != 4:
            subs.append((groups[segments[0][0]][0], groups[segments[m - 1][0]][1], True))
        if tuple(seg_lens[-m:]) == layout and seg_lens[-m - 1] != 4:
            subs.append((groups[segments[k - m][0]][0], groups[segments[-1][0]][1], True))
    return whole, subs


# ----------------------------------------------------------------------------------- context

def _tokens(text: str) -> list[str]:
    if "%" in text or "+" in text:
        try:
            text = unquote_plus(text)
        except Exception:  # pragma: no cover - unquote_plus does not raise on bad escapes
            pass
    text = _ESC_RE.sub(" ", text)
    return [w.lower() for w in _WORD_RE.findall(text)]


def _key_class(tokens: list[str]) -> int:
    """+1 card key, -1 non-card key (ids, order numbers, phones...), 0 unknown."""
    if not tokens:
        return 0
    if any(t in STRONG_WORDS or t in KEY_ONLY_WORDS for t in tokens):
        return 1
    if any(t in NEGATIVE_WORDS for t in tokens) or tokens[-1] in _ID_TAILS:
        return -1
    return 0


def _key_before(text: str, s: int) -> list[str]:
    """The last words of the label right before the value: `"card_number": "`, `cc=`,
    `<cardNumber>`, `Card number: `. Separators in between are quotes, spaces, `:`, `=`, `>`."""
    prefix = text[max(0, s - 64):s]
    if "%" in prefix or "+" in prefix:
        prefix = unquote_plus(prefix)
    prefix = _ESC_RE.sub(" ", prefix)
    stripped = prefix.rstrip(" \t\r\n\"':=>\\#([{")
    if len(prefix) - len(stripped) > 12:
        return []
    if stripped.endswith(".") and stripped[:-1].rsplit(" ", 1)[-1].lower() in _ABBREVIATIONS:
        stripped = stripped[:-1]  # "Card no. 4111..." (but "...limit ok. 4111" ends a sentence)
    m = _KEY_TAIL_RE.search(stripped)
    if not m:
        return []
    return [w.lower() for w in _WORD_RE.findall(m.group())][-3:]


@dataclass
class _CsvHeader:
    delim: str
    classes: tuple[int, ...]
    columns: int


def csv_header(text: str) -> _CsvHeader | None:
    """The classified column names of CSV-like text whose first line is a header."""
    first = text[:4096].split("\n", 1)[0].rstrip("\r")
    if not first:
        return None
    delim = max(",;\t|", key=first.count)
    if first.count(delim) < 1:
        return None
    cells = [c.strip().strip("\"'") for c in first.split(delim)]
    if any(re.search(r"[0-9]{5}", c) for c in cells) or sum(bool(re.search(r"[A-Za-z]", c)) for c in cells) < len(cells) / 2:
        return None  # a data row, not a header
    classes = tuple(_key_class(_tokens(c)) for c in cells)
    if not any(classes):
        return None
    return _CsvHeader(delim, classes, len(cells))


def _column_class(text: str, s: int, header: _CsvHeader) -> int:
    line_start = text.rfind("\n", max(0, s - 65536), s) + 1
    if line_start == 0:
        return 0  # the header line itself, or a line too long to be a CSV row
    line_end = text.find("\n", s, s + 65536)
    if line_end == -1:
        line_end = min(len(text), s + 65536)
    if text.count(header.delim, line_start, line_end) != header.columns - 1:
        return 0
    col = text.count(header.delim, line_start, s)
    return header.classes[col] if col < len(header.classes) else 0


_LABEL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
MAX_LABELLED = 4096  # field values get their name as context; whole files do not need it


def _labelled(part) -> str:
    """A form field's or JSON value's own name is its context (the decoder split it off):
    scan `"card_number": 4111...` as it stood in the body."""
    if not part.name or len(part.text) > MAX_LABELLED:
        return part.text
    labels = _LABEL_RE.findall(part.name)
    return f'"{labels[-1]}": {part.text}' if labels else part.text


def confidence(text: str, s: int, e: int, grouped: bool, header: _CsvHeader | None) -> float:
    key = _key_class(_key_before(text, s))
    if key == 0 and header is not None:
        key = _column_class(text, s, header)
    if key > 0:
        return 0.95
    if key < 0:
        return 0.1
    near = _tokens(text[max(0, s - 64):s]) + _tokens(text[e:e + 64])
    pos = any(t in STRONG_WORDS for t in near) or bool(_EXPIRY_RE.match(text, e, min(len(text), e + 40)))
    neg = any(t in NEGATIVE_WORDS for t in near)
    if pos and neg:
        return 0.55
    if pos:
        return 0.8
    if neg:
        return 0.25
    return 0.6 if grouped else 0.5


def _in_iban(text: str, s: int, e: int) -> bool:
    lo = max(0, s - 40)
    if not any("A" <= c <= "Z" for c in text[lo:s]):
        return False
    region = text[lo:min(len(text), e + 40)]
    for m in _IBAN_RE.finditer(region):
        if m.start() + lo < e and m.end() + lo > s and iban_ok(m.group()):
            return True
    return False


# ------------------------------------------------------------------------ flow / host state

def _noisy(candidates: int, valid: int, p) -> bool:
    """Random numeric ids, not card data: more Luhn failures among the branded candidates
    than `luhn_allowance` and than the share `1 - min_luhn_ratio` allows. Card dumps pass
    Luhn ~100% (a typo or two aside), random ids ~10%."""
    invalid = candidates - valid
    return invalid > p.luhn_allowance and invalid > (1.0 - p.min_luhn_ratio) * candidates


class _Tally:
    """Distinct number hashes (64-bit prefixes) seen by one flow or host in the window, and
    how many branded candidates / Luhn-valid ones it saw (for the noise ratio)."""

    __slots__ = ("seen", "buckets", "alerted_until")

    def __init__(self):
        self.seen: OrderedDict[int, tuple[int, bool]] = OrderedDict()  # hash -> (ts, context)
        self.buckets: list[list[int]] = []  # [start_ts, candidates, valid]
        self.alerted_until = 0

    def expire(self, now: int, window: int, width: int) -> None:
        horizon = now - window
        while self.seen:
            h, (ts, _) = next(iter(self.seen.items()))
            if ts >= horizon:
                break
            self.seen.popitem(last=False)
        self.buckets = [b for b in self.buckets if b[0] + width > horizon]

    def add(self, now: int, hashes: dict[int, bool], candidates: int, valid: int, width: int, cap: int) -> None:
        for h, ctx in hashes.items():
            old = self.seen.pop(h, None)
            self.seen[h] = (now, ctx or (old is not None and old[1]))
        while len(self.seen) > cap:
            self.seen.popitem(last=False)
        if self.buckets and now - self.buckets[-1][0] < width:
            self.buckets[-1][1] += candidates
            self.buckets[-1][2] += valid
        else:
            self.buckets.append([now, candidates, valid])

    def distinct(self, params) -> int:
        candidates = sum(b[1] for b in self.buckets)
        valid = sum(b[2] for b in self.buckets)
        noisy = _noisy(candidates, valid, params)
        return sum(1 for _, ctx in self.seen.values() if ctx or not noisy)


# -------------------------------------------------------------------------------- detector

@dataclass
class _Number:
    brand: str
    test: bool
    confidence: float
    where: str


@dataclass(frozen=True)
class PanParams:
    direction: Direction = "toserver"
    signature_id: int = 2100001
    signature: str = "DLP payment card numbers"
    category: str = "Potential Corporate Privacy Violation"
    severity: int = 1
    min_distinct_with_context: int = 1
    min_distinct: int = 3
    flow_min_distinct: int = 3
    host_min_distinct: int = 10
    window_seconds: int = 3600
    context_confidence: float = 0.75
    min_confidence: float = 0.3
    min_luhn_ratio: float = 0.8
    luhn_allowance: int = 1
    count_test_numbers: bool = False
    allow_hosts: tuple[str, ...] = ()
    deny_hosts: tuple[str, ...] = ()
    content_types: tuple[str, ...] = ()
    exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_TYPES
    hmac_key_file: str = ""
    iin_file: str = ""
    test_numbers_file: str = ""
    max_listed: int = 100
    max_numbers: int = 10000
    window_chars: int = DEFAULT_WINDOW
    max_flows: int = 10000
    max_hosts: int = 10000

    def __post_init__(self) -> None:
        check_severity(self, "severity")
        for name in ("min_distinct_with_context", "min_distinct", "flow_min_distinct", "host_min_distinct"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 (off) or more")
        if self.luhn_allowance < 0:
            raise ValueError("luhn_allowance must be 0 or more")
        check_positive(self, "window_seconds", "max_listed", "max_numbers", "max_flows", "max_hosts")
        if self.window_chars < 4096:
            raise ValueError("window_chars must be at least 4096")
        for name in ("context_confidence", "min_confidence", "min_luhn_ratio"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        validate_domains(self.allow_hosts, "allow_hosts")
        validate_domains(self.deny_hosts, "deny_hosts")
        for name in ("iin_file", "test_numbers_file"):
            path = getattr(self, name)
            if path and not os.path.isfile(path):
                raise ValueError(f"{name}: no such file {path!r}")
        if self.iin_file:
            load_iin_table(self.iin_file)  # its errors name file:line


class PanDetector:
    name = "pan"
    inputs = frozenset({"http"})  # HTTP transactions only, never raw stream chunks
    Params = PanParams

    def __init__(self, params: PanParams | None = None):
        p = self.params = params or PanParams()
        self.directions = DIRECTIONS[p.direction]
        self.allow = normalize_domains(p.allow_hosts)
        self.deny = normalize_domains(p.deny_hosts)
        self.key = load_or_create_key(p.hmac_key_file or None)
        self.iin = load_iin_table(p.iin_file or IIN_FILE)
        self.test_numbers = load_test_numbers(p.test_numbers_file or TEST_PANS_FILE)
        self.window_us = p.window_seconds * 1_000_000
        self.bucket_us = max(1, self.window_us // 12)
        self.prefixes = prefix_index(self.iin)
        self.flows: LruMap[_Tally] = LruMap(p.max_flows)
        self.hosts: LruMap[_Tally] = LruMap(p.max_hosts)

    def applies(self, item) -> bool:
        return type(item) is HttpTransaction and item.direction in self.directions

    # -- scanning

    def scan_text(self, text: str, where: str, numbers: dict[str, _Number], shapes: dict[str, tuple[bool, float]]) -> bool:
        """Adds the valid numbers of one text to `numbers` and every well-formed candidate to
        `shapes` (digits -> (valid, confidence)). False when it stopped at `max_numbers`."""
        if not text:
            return True
        cap = self.params.max_numbers
        header_box: list = []  # [CSV header, failures whose context was looked at], on first need
        for win in windows(text, self.params.window_chars, overlap=MAX_RUN + 8, lead=MAX_RUN + 8):
            chunk = win.chunk
            for m in RUN_RE.finditer(chunk):
                if m.end() - m.start() < 12:
                    continue
                if not win.owns(m.start()):
                    continue
                s, e = win.base + m.start(), win.base + m.end()
                if not (left_ok(text, s) and right_ok(text, e)):
                    continue
                if len(numbers) >= cap:
                    return False
                run = m.group()
                if run.isdigit():  # the common case: one group
                    if len(run) <= 19:
                        self._consider(text, s, run, (0, len(run), False), where, numbers, shapes, header_box)
                    continue
                whole, subs = split_run(run)
                if whole is not None and self._consider(text, s, run, whole, where, numbers, shapes,
                                                        header_box, record=not subs):
                    continue
                for sub in subs:
                    self._consider(text, s, run, sub, where, numbers, shapes, header_box)
        return True

    def _consider(self, text, s, run, cand, where, numbers, shapes, header_box, record=True) -> bool:
        """Judges one candidate; True when it is a valid card number. Every well-formed
        candidate (except timestamps) goes into `shapes`, valid or not, for the Luhn ratio."""
        a, b, grouped = cand
        digits = _STRIP_SEPS_RE.sub("", run[a:b]) if grouped else run[a:b]
        n = len(digits)
        if not 12 <= n <= 19:
            return False
        if digits[0] == "1" and digits[1] in "56789" and n in (13, 16, 19):
            return False  # epoch milli-, micro-, nanoseconds (2017-2033): no brand starts with 1
        if digits.count(digits[0]) == n:
            return False
        brand = fast_brand(digits, self.prefixes)
        cs, ce = s + a, s + b
        valid = brand is not None and luhn_ok(digits) and not _in_iban(text, cs, ce)
        if not valid and not record:
            return False
        old = shapes.get(digits)
        if not valid and old is not None:
            return False  # a repeated failure changes nothing
        if not header_box:
            header_box.extend((csv_header(text), 0))
        if valid or header_box[1] < CONTEXT_FOR_INVALID:
            header_box[1] += not valid
            conf = confidence(text, cs, ce, grouped, header_box[0])
        else:
            conf = 0.5  # past this many failures, the next are counted without their context
        shapes[digits] = (valid or (old is not None and old[0]), max(conf, old[1]) if old else conf)
        if not valid:
            return False
        found = numbers.get(digits)
        if found is None:
            numbers[digits] = _Number(brand, digits in self.test_numbers, conf, where)
        elif conf > found.confidence:
            found.confidence = conf
        return True

    # -- decision

    def inspect(self, tx: HttpTransaction) -> list[Finding]:
        p = self.params
        host = host_of(tx)
        if self.allow and host_matches(host, self.allow):
            return []
        denied = bool(self.deny) and host_matches(host, self.deny)
        numbers: dict[str, _Number] = {}
        shapes: dict[str, tuple[bool, float]] = {}
        complete = True
        for part in tx.parts:
            if not part.text or not type_selected(part_type(part, tx), p.content_types, p.exclude_content_types):
                continue
            if not self.scan_text(_labelled(part), part_where(part), numbers, shapes):
                complete = False
                break
        if not numbers:
            if shapes:
                self._account(tx, {}, shapes)
            return []

        considered = [v for v in shapes.values() if v[1] >= p.min_confidence]
        noisy = _noisy(len(considered), sum(1 for v in considered if v[0]), p)
        counted: dict[str, bool] = {}  # digits -> has card context
        for digits, num in numbers.items():
            if num.test and not p.count_test_numbers:
                continue
            if num.confidence < p.min_confidence:
                continue
            ctx = num.confidence >= p.context_confidence
            if noisy and not ctx:
                continue
            counted[digits] = ctx
        order = sorted(numbers.items(), key=lambda kv: (kv[0] not in counted, -kv[1].confidence))
        listed = order[:p.max_listed]
        hashes = {d: keyed_hash(self.key, d) for d, _ in listed}
        for d in counted:
            if d not in hashes:
                hashes[d] = keyed_hash(self.key, d)

        scopes = []
        with_ctx = sum(counted.values())
        if denied and counted:
            scopes.append("message")
        elif (p.min_distinct_with_context and with_ctx >= p.min_distinct_with_context) or \
                (p.min_distinct and len(counted) >= p.min_distinct):
            scopes.append("message")
        flow_n, host_n = self._account(tx, {hashes[d]: c for d, c in counted.items()}, shapes)
        flow_t, host_t = self.flows.get(tx.flow.flow_id), self.hosts.get(tx.flow.src_ip)
        if counted and p.flow_min_distinct and flow_n >= p.flow_min_distinct and flow_t.alerted_until <= tx.ts:
            scopes.append("flow")
            flow_t.alerted_until = tx.ts + self.window_us
        if counted and p.host_min_distinct and host_n >= p.host_min_distinct and host_t.alerted_until <= tx.ts:
            scopes.append("host")
            host_t.alerted_until = tx.ts + self.window_us
        if not scopes:
            return []

        matches = [{
            "type": "pan",
            "brand": num.brand,
            "masked": mask_pan(digits),
            "hash": hashes[digits],
            "test": num.test,
            "confidence": round(num.confidence, 2),
            "where": num.where,
            "counted": digits in counted,
        } for digits, num in listed]
        extra = {
            "matches": matches,
            "distinct": len(numbers),
            "counted": len(counted),
            "scopes": scopes,
            "flow_distinct": flow_n,
            "host_distinct": host_n,
        }
        if len(numbers) > p.max_listed:
            extra["truncated"] = True
        if not complete:
            extra["scan_stopped"] = True  # max_numbers reached: `distinct` is a lower bound
        if denied:
            extra["host_listed"] = "deny"
        return [Finding(detector=self.name, signature_id=p.signature_id, signature=p.signature,
                        category=p.category, severity=p.severity, direction=tx.direction,
                        rule=p.signature, extra=extra)]

    def _account(self, tx: HttpTransaction, hashes: dict[str, bool], shapes) -> tuple[int, int]:
        """Adds this message to its flow's and client's tallies; returns their distinct counts."""
        p = self.params
        short = {int(h[:16], 16): ctx for h, ctx in hashes.items()}
        considered = [v for v in shapes.values() if v[1] >= p.min_confidence]
        candidates, valid = len(considered), sum(1 for v in considered if v[0])
        out = []
        for lru, key, threshold in ((self.flows, tx.flow.flow_id, p.flow_min_distinct),
                                    (self.hosts, tx.flow.src_ip, p.host_min_distinct)):
            if not threshold:
                out.append(0)
                continue
            tally = lru.get_or_add(key, _Tally)
            tally.expire(tx.ts, self.window_us, self.bucket_us)
            tally.add(tx.ts, short, candidates, valid, self.bucket_us, cap=max(64, 4 * threshold))
            out.append(tally.distinct(p))
        return out[0], out[1]
