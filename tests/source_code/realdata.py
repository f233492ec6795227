"""Real local files for measuring the classifier: source code that ships with this machine's
toolchains, and real non-code text (docs, licences, config). Everything is optional: a
family whose files are missing is simply absent (the measurement tests skip when too little
was found). Sampling is deterministic (sorted paths, seeded RNG) and capped."""

from __future__ import annotations

import glob
import gzip
import html
import os
import random
import re
import tokenize
import zipfile

PY_STDLIB = "/root/.pyenv/versions/3.11.7/lib/python3.11"
MAX_FILES = 60
MAX_BYTES = 400_000


def _read(path: str) -> str | None:
    try:
        if os.path.getsize(path) > MAX_BYTES or os.path.islink(path):
            return None
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if path.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return None
    if b"\x00" in data[:4096]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _pick(paths, n=MAX_FILES, seed=7) -> list[str]:
    paths = sorted(set(paths))
    random.Random(seed).shuffle(paths)
    return paths[:n]


def _files(paths, n=MAX_FILES, keep=lambda text: True) -> list[tuple[str, str]]:
    out = []
    for p in _pick(paths, n * 2):
        text = _read(p)
        if text and text.strip() and keep(text):
            out.append((p, text))
        if len(out) >= n:
            break
    return out


def _shebang_scripts(directory: str, rx: str) -> list[str]:
    found = []
    for p in sorted(glob.glob(os.path.join(directory, "*"))):
        try:
            if os.path.islink(p) or not os.path.isfile(p) or os.path.getsize(p) > MAX_BYTES:
                continue
            with open(p, "rb") as fh:
                first = fh.readline(200)
        except OSError:
            continue
        if re.match(rx.encode(), first):
            found.append(p)
    return found


def _java_from_zip(n: int) -> list[tuple[str, str]]:
    for zpath in sorted(glob.glob("/usr/lib/jvm/*/lib/src.zip")) + sorted(glob.glob("/usr/lib/jvm/*/src.zip")):
        try:
            with zipfile.ZipFile(zpath) as zf:
                names = [i.filename for i in zf.infolist()
                         if i.filename.endswith(".java") and 3000 < i.file_size < MAX_BYTES
                         and ("/java/util/" in i.filename or "/java/io/" in i.filename)]
                out = []
                for name in _pick(names, n):
                    out.append((f"{zpath}:{name}", zf.read(name).decode("utf-8", "replace")))
                if out:
                    return out
        except (OSError, zipfile.BadZipFile):
            continue
    return []


_RS_ANCHOR = re.compile(r"<a href=#\d+ id=\d+ data-nosnippet>\d+</a>")


def _rust_from_docs(n: int) -> list[tuple[str, str]]:
    paths = glob.glob("/root/.rustup/toolchains/*/share/doc/rust/html/src/**/*.rs.html", recursive=True)
    out = []
    for p in _pick([p for p in paths if "stable" in p] or paths, n * 2):
        page = _read(p)
        if not page:
            continue
        m = re.search(r"<code>(.*?)</code>", page, re.S)
        if not m:
            continue
        code = html.unescape(re.sub(r"<[^>]+>", "", _RS_ANCHOR.sub("", m.group(1))))
        if code.count("\n") > 40:
            out.append((p, code))
        if len(out) >= n:
            break
    return out


def real_sources() -> dict[str, list[tuple[str, str]]]:
    """language -> [(path, text)]"""
    find = lambda *pats: [p for pat in pats for p in glob.glob(pat, recursive=True)]
    src = {
        "python": _files(find(f"{PY_STDLIB}/*.py")),
        "c_cpp": _files(find("/usr/include/*.h", "/usr/include/linux/*.h",
                             f"{PY_STDLIB}/site-packages/**/*.c", f"{PY_STDLIB}/site-packages/**/*.cpp",
                             "/root/.pyenv/src/*.c", "/usr/lib/node_modules/**/*.cc")),
        "shell": _files(_shebang_scripts("/usr/bin", r"#!\s*/bin/(?:ba|da)?sh\b|#!\s*/usr/bin/env\s+(?:ba)?sh\b")
                        + _shebang_scripts("/usr/sbin", r"#!\s*/bin/(?:ba|da)?sh\b")),
        "javascript": _files([p for p in find("/usr/lib/node_modules/npm/lib/**/*.js",
                                              "/usr/share/javascript/sphinxdoc/1.0/*.js",
                                              "/usr/share/javascript/jquery/jquery.js")
                              if ".min." not in p]),
        "php": _files(find("/usr/lib/google-cloud-sdk/**/*.php")),
        "sql": _files(find("/usr/share/postgresql/*/extension/*.sql", "/usr/share/postgresql/*/*.sql",
                           "/usr/share/postgresql-common/**/*.sql")),
        "go": _files(find("/usr/share/doc/**/*.go", "/usr/lib/go*/src/**/*.go", "/usr/local/go/src/net/http/*.go")),
        "csharp": _files(find("/usr/lib/node_modules/**/*.cs")),
        "java": _java_from_zip(MAX_FILES),
        "rust": _rust_from_docs(MAX_FILES),
    }
    return {k: v for k, v in src.items() if v}


def real_negatives() -> dict[str, list[tuple[str, str]]]:
    """family -> [(path, text)]: real text that is not program source."""
    docs = [p for p in glob.glob("/usr/share/doc/*/*")
            if re.search(r"/(?:README|NEWS|AUTHORS|THANKS|TODO|changelog|copyright|CHANGES|FAQ)[^/]*$", p, re.I)
            and not re.search(r"\.(?:html?|py|c|h|sh|pl|js|json|xml|ya?ml)$", p)]
    licenses = glob.glob("/usr/share/common-licenses/*")
    config = [p for p in glob.glob("/etc/**/*", recursive=True)
              if re.search(r"\.(?:conf|cnf|cfg|ini|ya?ml|toml|xml|json|list|sources)$", p)
              and os.path.isfile(p) and "/etc/perl/" not in p]  # /etc/perl/*.cfg are Perl code
    html_pages = glob.glob("/usr/share/doc/**/*.html", recursive=True)
    out = {
        # a doc with a code listing (Markdown fences, doctest lines) holds program source:
        # not a negative
        "doc": _files(docs, 80, keep=lambda text: text.count("```") < 2 and "\n    >>> " not in text),
        "license": _files(licenses, 40),
        "config": _files(config, 80),
        "html": _files(html_pages, 40),
        "minified_js": _files([p for p in glob.glob("/usr/share/javascript/**/*.min.js", recursive=True)]
                              + glob.glob("/root/.rustup/toolchains/stable*/share/doc/rust/html/static.files/*.js"), 20),
    }
    return {k: v for k, v in out.items() if v}


def windows(text: str, n_lines: int, count: int, rng: random.Random,
            max_comment: float = 0.4, python: bool = False) -> list[str]:
    """Up to `count` snippets of `n_lines` non-blank lines cut from random places, skipping
    windows that are mostly comments, docstrings or string literals (judged on the whole
    file, independently of the classifier: Python via `tokenize`, others by comment syntax)."""
    lines = text.split("\n")
    mask = _commentish_mask(text, lines, python)
    starts = [i for i, ln in enumerate(lines) if ln.strip()]
    if len(starts) < n_lines:
        return []
    out = []
    for _ in range(count * 3):
        first = rng.randrange(0, len(starts) - n_lines + 1)
        picked = starts[first:first + n_lines]
        if sum(mask[i] for i in picked) > max_comment * n_lines:
            continue
        out.append("\n".join(lines[picked[0]:picked[-1] + 1]))
        if len(out) >= count:
            break
    return out


def _commentish_mask(text: str, lines: list[str], python: bool) -> list[bool]:
    mask = [False] * len(lines)
    if python:
        try:
            toks = list(tokenize.generate_tokens(iter(text.splitlines(True)).__next__))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            toks = []
        if toks:
            prev = None
            for tok in toks:
                if tok.type == tokenize.COMMENT or (
                        tok.type == tokenize.STRING and (prev is None or prev.type in (
                            tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT))):
                    for i in range(tok.start[0] - 1, min(tok.end[0], len(lines))):
                        if tok.type == tokenize.STRING or lines[i].strip().startswith("#"):
                            mask[i] = True
                if tok.type not in (tokenize.COMMENT, tokenize.NL):
                    prev = tok
            return mask
    in_block = False
    for i, ln in enumerate(lines):
        s = ln.strip()
        if in_block:
            mask[i] = True
            in_block = "*/" not in s
            continue
        if _COMMENT_START.match(s):
            mask[i] = True
            if s.startswith("/*") and "*/" not in s:
                in_block = True
    return mask


_COMMENT_START = re.compile(r"^\s*(?:#(?!include|define|if|endif|else|pragma|!|\[)|//|/\*|\*|--|<!--)")


def read_gz_text(path: str) -> str | None:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return fh.read(MAX_BYTES)
    except (OSError, UnicodeDecodeError, EOFError):
        return None


__all__ = ["real_sources", "real_negatives", "windows", "read_gz_text"]
