"""MIME header values: `type/sub; key=value; key="quoted"`, as in Content-Type and
Content-Disposition. Lenient: a broken parameter is skipped, never an error."""

from __future__ import annotations

from urllib.parse import unquote


def _split(value: str) -> list[str]:
    """Split on ';' outside double quotes."""
    pieces, cur, quoted, escaped = [], [], False, False
    for ch in value:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            cur.append(ch)
            escaped = True
        elif ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch == ";" and not quoted:
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    pieces.append("".join(cur))
    return pieces


def _unquote(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] == '"':
        v = v[1:-1]
        # Browsers do not escape backslashes in filenames (C:\dir\a.txt), so only \" and \\.
        v = v.replace('\\"', '"').replace("\\\\", "\\")
    return v


def parse_header(value: str | None) -> tuple[str, dict[str, str]]:
    """("text/plain", {"charset": "utf-8"}) from 'text/plain; charset="utf-8"'. The main value
    and parameter names are lower-cased. RFC 5987 `name*=utf-8''%e2%82%ac` wins over `name=`."""
    if not value:
        return "", {}
    pieces = _split(value[:4096])  # a header value longer than this is not a real one
    params: dict[str, str] = {}
    extended: dict[str, str] = {}
    for piece in pieces[1:]:
        key, eq, val = piece.partition("=")
        key = key.strip().lower()
        if not eq or not key:
            continue
        if key.endswith("*"):
            charset, _, rest = _unquote(val).partition("'")
            _, _, encoded = rest.partition("'")
            try:
                extended[key[:-1]] = unquote(encoded, encoding=charset or "utf-8", errors="replace")
            except LookupError:
                extended[key[:-1]] = unquote(encoded, errors="replace")
        else:
            params.setdefault(key, _unquote(val))
    params.update(extended)
    return pieces[0].strip().lower(), params


def parse_block(raw: bytes) -> dict[str, str]:
    """Header lines (as in a multipart part) -> {lower-case name: value}. Folded lines are
    joined; the first of repeated headers wins (a server reads the first)."""
    out: dict[str, str] = {}
    last = None
    for line in raw.decode("utf-8", "replace").splitlines():
        if line[:1] in (" ", "\t") and last:
            out[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if colon and name and name not in out:
            out[name] = value.strip()
            last = name
        else:
            last = None
    return out
