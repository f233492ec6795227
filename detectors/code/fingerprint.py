"""Winnowed k-gram fingerprints of the company's repositories (MOSS; Schleimer, Wilkerson and
Aiken, "Winnowing: local algorithms for document fingerprinting", SIGMOD 2003).

Normalisation makes fingerprints survive cosmetic edits: comments and whitespace are dropped,
every identifier that is not a keyword of one of the supported languages becomes `V`, every
string literal `S`, every number `N`; keywords and operators are kept, lower-cased.
Statement-ending `;` and trailing commas (`,` before a closing bracket) are dropped, so adding
or removing semicolons and magic trailing commas (prettier, black) changes nothing. So
renaming variables, reformatting, re-indenting, changing quote style or comments does not
evade a match; rewriting the logic does.

Every window of K consecutive tokens is hashed (polynomial hash mod 2**61-1 over CRC-32 token
ids: stable across runs and machines). Winnowing keeps the minimum hash of every window of W
consecutive k-gram hashes (rightmost on ties, each selected position once), which guarantees
that any shared run of at least W + K - 1 tokens shares a fingerprint, and that runs shorter
than K tokens are ignored as noise.

Index: fingerprint -> the documents (repo, path) that contain it. A fingerprint present in
more than `max_postings` documents is boilerplate: its postings are dropped (kept as a known,
empty entry) so memory stays bounded and common idioms identify nothing.

`match(text)` winnows the text the same way and returns the document sharing the most
fingerprints with it: similarity = shared / fingerprints of the text (containment of the
snippet in the document: 1.0 when every fingerprint of the leaked text is in that file).

File format (no pickle): b"DLPCODEFP\\n", u32 little-endian header length, a JSON header
({"format": 1, "k", "w", "norm", "docs": [[repo, path], ...], "n_hashes", "n_postings",
...}), then three little-endian arrays: n_hashes uint64 sorted fingerprints, n_hashes + 1
uint32 offsets, n_postings uint32 document ids (CSR layout). Loading checks every size.
"""

from __future__ import annotations

import array
import bisect
import json
import os
import re
import struct
import sys
import zlib
from dataclasses import dataclass
from typing import Iterable, NamedTuple

K = 20  # tokens per k-gram
W = 8  # winnowing window (k-grams)
MAX_POSTINGS = 32  # documents per fingerprint before it counts as boilerplate
MAX_FILE_BYTES = 1 << 20
MIN_SHARED = 3  # fingerprints a match must share
MAX_MATCH_CHARS = 512 * 1024  # text inspected per match call
NORM_VERSION = 1
MAGIC = b"DLPCODEFP\n"
_MOD = (1 << 61) - 1
_BASE = 1_000_003

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "vendor", "third_party", "third-party", "thirdparty",
    "external", "bower_components", ".venv", "venv", "env", "__pycache__", "site-packages",
    "dist", "build", "target", "out", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".idea",
    ".vscode", ".gradle", ".cargo", "Pods", "Carthage", ".next", ".nuxt", "coverage",
})

SOURCE_EXTENSIONS = frozenset("""py pyw pyi pyx c h cc cpp cxx c++ hh hpp hxx h++ ino cu java js mjs cjs
jsx ts tsx mts cts go rs sh bash zsh ksh sql pgsql php phtml inc cs csx kt kts scala swift rb pl
pm lua m mm r dart groovy gradle vue svelte""".split())

KEYWORDS = frozenset("""
abstract and as assert async await auto bool boolean break byte case catch char class const
constexpr continue crate def default defer del delete do double dyn elif else enum except
explicit export extends extern false final finally float fn for foreach from func function
global go goto if impl implements import in include inline instanceof int interface internal is
lambda let long loop match mod move mut namespace new nil none nonlocal not null nullptr
operator or override package pass private protected pub public raise readonly return sealed
self short signed sizeof static struct super switch synchronized template this throw throws
trait true try typedef typeof uint unsafe unsigned use using var virtual void volatile where
while with yield echo elseif endif endforeach endwhile isset unset require require_once
include_once select join into then fi done esac chan fallthrough
""".split())

_TOKEN = re.compile(r"""
  (?P<ws>\s+)
| (?P<bc>/\*.*?(?:\*/|\Z))
| (?P<lc>//[^\n]*)
| (?P<hc>\#(?![a-zA-Z\[!])[^\n]*)
| (?P<sc>(?<![\w)\]])--[ \t][^\n]*)
| (?P<tq>\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z))
| (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)
| (?P<num>\.?\d[\w.]*)
| (?P<id>[A-Za-z_$@][\w$]*)
| (?P<op>==|!=|<=|>=|&&|\|\||->|=>|::|\+\+|--|<<|>>|\+=|-=|\*=|/=|:=|\S)
""", re.X | re.S)
_CLOSERS = frozenset(")]}")


def tokens(text: str) -> list[str]:
    """Normalised token stream (see the module docstring)."""
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind in ("ws", "bc", "lc", "hc", "sc"):
            continue
        if kind in ("str", "tq"):
            out.append("S")
        elif kind == "num":
            out.append("N")
        elif kind == "id":
            word = m.group().lower().lstrip("$@")
            out.append(word if word in KEYWORDS else "V")
        else:
            op = m.group()
            if op == ";":
                continue
            if op in _CLOSERS and out and out[-1] == ",":
                out.pop()  # trailing comma
            out.append(op)
    return out


_TOKEN_IDS: dict[str, int] = {}


def _token_id(tok: str) -> int:
    tid = _TOKEN_IDS.get(tok)
    if tid is None:
        tid = _TOKEN_IDS[tok] = zlib.crc32(tok.encode()) + 1
    return tid


def kgram_hashes(toks: list[str], k: int = K) -> list[int]:
    n = len(toks)
    if n < k:
        return []
    ids = [_token_id(t) for t in toks]
    top = pow(_BASE, k - 1, _MOD)
    h = 0
    for i in range(k):
        h = (h * _BASE + ids[i]) % _MOD
    out = [h]
    for i in range(k, n):
        h = ((h - ids[i - k] * top) * _BASE + ids[i]) % _MOD
        out.append(h)
    return out


def winnow(hashes: list[int], w: int = W) -> set[int]:
    """Robust winnowing: the minimum of each window of `w` hashes (rightmost on ties),
    each selected position recorded once. A text shorter than one window yields its
    minimum."""
    if not hashes:
        return set()
    if len(hashes) <= w:
        return {min(hashes)}
    selected: set[int] = set()
    window: list[int] = []  # positions, hashes increasing (monotonic deque)
    head = 0
    last = -1
    for i, h in enumerate(hashes):
        while len(window) > head and hashes[window[-1]] >= h:
            window.pop()
        window.append(i)
        if window[head] <= i - w:
            head += 1
        if head > 64:
            del window[:head]
            head = 0
        if i >= w - 1:
            pos = window[head]
            if pos != last:
                selected.add(hashes[pos])
                last = pos
    return selected


def fingerprints(text: str, k: int = K, w: int = W) -> set[int]:
    return winnow(kgram_hashes(tokens(text), k), w)


class Match(NamedTuple):
    repo: str
    path: str
    similarity: float  # shared fingerprints / fingerprints of the text
    shared: int
    total: int  # fingerprints of the text


@dataclass
class IndexStats:
    files: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    skipped_other: int = 0
    fingerprints: int = 0
    boilerplate: int = 0  # fingerprints whose postings were dropped


class FingerprintIndex:
    """Sorted fingerprints with CSR postings. Build with `build_index`; `save`/`load`."""

    def __init__(self, docs: list[tuple[str, str]], hashes: array.array, offsets: array.array,
                 postings: array.array, k: int = K, w: int = W, max_postings: int = MAX_POSTINGS,
                 stats: IndexStats | None = None):
        self.docs = docs
        self.hashes = hashes
        self.offsets = offsets
        self.postings = postings
        self.k = k
        self.w = w
        self.max_postings = max_postings
        self.stats = stats or IndexStats()

    def __len__(self) -> int:
        return len(self.hashes)

    # -- querying -----------------------------------------------------------------------
    def lookup(self, fp: int) -> array.array | None:
        """Document ids holding `fp` (empty for boilerplate), None if unknown."""
        i = bisect.bisect_left(self.hashes, fp)
        if i == len(self.hashes) or self.hashes[i] != fp:
            return None
        return self.postings[self.offsets[i]:self.offsets[i + 1]]

    def match(self, text: str, min_shared: int = MIN_SHARED) -> Match | None:
        """The indexed file sharing the most fingerprints with `text`, or None when fewer
        than `min_shared` are shared (a single shared fingerprint is an idiom, not a leak)."""
        fps = fingerprints(text[:MAX_MATCH_CHARS], self.k, self.w)
        if not fps:
            return None
        counts: dict[int, int] = {}
        for fp in fps:
            docs = self.lookup(fp)
            if docs:
                for d in docs:
                    counts[d] = counts.get(d, 0) + 1
        if not counts:
            return None
        best = max(counts, key=lambda d: (counts[d], -d))
        if counts[best] < min_shared:
            return None
        repo, path = self.docs[best]
        return Match(repo, path, round(counts[best] / len(fps), 4), counts[best], len(fps))

    # -- persistence --------------------------------------------------------------------
    def save(self, path: str) -> None:
        header = json.dumps({
            "format": 1, "norm": NORM_VERSION, "k": self.k, "w": self.w,
            "max_postings": self.max_postings, "docs": [list(d) for d in self.docs],
            "n_hashes": len(self.hashes), "n_postings": len(self.postings),
            "stats": vars(self.stats),
        }).encode()
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "wb") as fh:
            fh.write(MAGIC)
            fh.write(struct.pack("<I", len(header)))
            fh.write(header)
            for arr in (self.hashes, self.offsets, self.postings):
                fh.write(_le_bytes(arr))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> "FingerprintIndex":
        with open(path, "rb") as fh:
            data = fh.read()
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
            raise ValueError(f"{path}: not a source-code fingerprint index")
        pos = len(MAGIC)
        (hlen,) = struct.unpack_from("<I", data, pos)
        pos += 4
        try:
            header = json.loads(data[pos:pos + hlen])
        except ValueError:
            raise ValueError(f"{path}: corrupt fingerprint index header") from None
        pos += hlen
        if header.get("format") != 1 or header.get("norm") != NORM_VERSION:
            raise ValueError(f"{path}: unsupported fingerprint index version; rebuild it")
        n_h, n_p = int(header["n_hashes"]), int(header["n_postings"])
        sizes = (n_h * 8, (n_h + 1) * 4, n_p * 4)
        if len(data) != pos + sum(sizes):
            raise ValueError(f"{path}: fingerprint index is truncated or has trailing bytes")
        arrays = []
        for code, size in zip("QII", sizes):
            arr = array.array(code)
            arr.frombytes(data[pos:pos + size])
            if sys.byteorder == "big":
                arr.byteswap()
            arrays.append(arr)
            pos += size
        hashes, offsets, postings = arrays
        docs = [(str(r), str(p)) for r, p in header["docs"]]
        if offsets[-1] != n_p or any(d >= len(docs) for d in postings[:1000]):
            raise ValueError(f"{path}: inconsistent fingerprint index")
        stats = IndexStats(**{k: v for k, v in header.get("stats", {}).items()
                              if k in IndexStats.__dataclass_fields__})
        return cls(docs, hashes, offsets, postings, int(header["k"]), int(header["w"]),
                   int(header.get("max_postings", MAX_POSTINGS)), stats)


def _le_bytes(arr: array.array) -> bytes:
    if sys.byteorder == "big":
        arr = array.array(arr.typecode, arr)
        arr.byteswap()
    return arr.tobytes()


def iter_source_files(root: str, extensions: frozenset[str] = SOURCE_EXTENSIONS,
                      skip_dirs: frozenset[str] = SKIP_DIRS, stats: IndexStats | None = None
                      ) -> Iterable[tuple[str, str]]:
    """(relative path, text) of the source files under `root`: known source extensions or a
    shebang, text (UTF-8, no NUL), at most MAX_FILE_BYTES, outside vendored/build dirs,
    minified files skipped. Sorted, so an index is reproducible."""
    stats = stats if stats is not None else IndexStats()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            ext = name.rsplit(".", 1)[1].lower() if "." in name else ""
            if os.path.islink(full) or ".min." in name:
                stats.skipped_other += 1
                continue
            try:
                size = os.path.getsize(full)
                if size > MAX_FILE_BYTES:
                    stats.skipped_large += 1
                    continue
                if ext not in extensions:
                    if ext or size < 3:
                        stats.skipped_other += 1
                        continue
                    with open(full, "rb") as fh:
                        if fh.read(2) != b"#!":
                            stats.skipped_other += 1
                            continue
                with open(full, "rb") as fh:
                    data = fh.read()
            except OSError:
                stats.skipped_other += 1
                continue
            if b"\x00" in data[:8192]:
                stats.skipped_binary += 1
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                stats.skipped_binary += 1
                continue
            lines = text.count("\n") + 1
            if len(text) / lines > 300:
                stats.skipped_other += 1  # minified / generated
                continue
            yield os.path.relpath(full, root).replace(os.sep, "/"), text


def build_index(repos: list[tuple[str, str]], k: int = K, w: int = W,
                max_postings: int = MAX_POSTINGS,
                extensions: frozenset[str] = SOURCE_EXTENSIONS,
                skip_dirs: frozenset[str] = SKIP_DIRS) -> FingerprintIndex:
    """Index every source file of each (repo name, directory)."""
    stats = IndexStats()
    docs: list[tuple[str, str]] = []
    table: dict[int, list[int] | None] = {}  # None: boilerplate (too many documents)
    for repo, root in repos:
        for rel, text in iter_source_files(root, extensions, skip_dirs, stats):
            doc = len(docs)
            docs.append((repo, rel))
            stats.files += 1
            for fp in fingerprints(text, k, w):
                plist = table.get(fp, ())
                if plist is None:
                    continue
                if plist == ():
                    table[fp] = [doc]
                elif len(plist) >= max_postings:
                    table[fp] = None
                else:
                    plist.append(doc)
    hashes = array.array("Q", sorted(table))
    offsets = array.array("I", [0])
    postings = array.array("I")
    for fp in hashes:
        plist = table[fp]
        if plist:
            postings.extend(plist)
        else:
            stats.boilerplate += 1
        offsets.append(len(postings))
    stats.fingerprints = len(hashes)
    return FingerprintIndex(docs, hashes, offsets, postings, k, w, max_postings, stats)


def main(argv: list[str] | None = None) -> int:
    """python -m detectors.code.fingerprint build OUT NAME=DIR [NAME=DIR...]
    python -m detectors.code.fingerprint match INDEX FILE"""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) >= 3 and argv[0] == "build":
        repos = []
        for spec in argv[2:]:
            name, sep, directory = spec.partition("=")
            if not sep or not os.path.isdir(directory):
                print(f"not NAME=DIRECTORY: {spec}", file=sys.stderr)
                return 2
            repos.append((name, directory))
        index = build_index(repos)
        index.save(argv[1])
        print(json.dumps({"index": argv[1], "documents": len(index.docs), **vars(index.stats)}))
        return 0
    if len(argv) == 3 and argv[0] == "match":
        index = FingerprintIndex.load(argv[1])
        with open(argv[2], encoding="utf-8", errors="replace") as fh:
            found = index.match(fh.read())
        print(json.dumps(found._asdict() if found else None))
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
