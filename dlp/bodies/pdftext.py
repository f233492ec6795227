"""Text from PDF content streams: the show-text operators Tj, TJ, ' and ", literal and hex
strings, fonts' ToUnicode CMaps. Layout is approximated: a new line on T*, ', " and a
vertical move; a space for a wide TJ gap."""

from __future__ import annotations

import re
from typing import Callable

# Only the constructs that carry text are searched for (C speed: a content stream is mostly
# drawing operators). Quantifiers are possessive, so no input can make them backtrack.
_NUM = rb"[+-]?+(?:\d++\.?+\d*+|\.\d++)"
_NUM0 = rb"(?<![\d.+-])" + _NUM  # a number that starts here, not inside a longer one
_LIT = rb"\((?:[^()\\]++|\\.|\((?:[^()\\]++|\\.)*+\))*+\)"
_HEX = rb"<[0-9A-Fa-f\s]*+>"
_OPS = re.compile(rb"""
    (?P<str>""" + _LIT + rb"|" + _HEX + rb""")\s*+(?P<sop>Tj|'|")
  | \[(?P<arr>(?:""" + _LIT + rb"|" + _HEX + rb"|" + _NUM + rb"""|\s++)*+)\]\s*+TJ
  | /(?P<font>[^\s/\[\]<>(){}%]++)\s++""" + _NUM + rb"""\s++Tf
  | (?P<nl>T\*)
  | """ + _NUM0 + rb"\s++(?P<ty>" + _NUM + rb""")\s++T[dD]\b
  | """ + _NUM0 + rb"(?:\s++" + _NUM + rb"){4}\s++(?P<y>" + _NUM + rb""")\s++Tm\b
  | (?P<et>\bET\b)
  | (?P<image>\bID\s)
""", re.X | re.S)
_ITEM = re.compile(_LIT + rb"|" + _HEX + rb"|" + _NUM)
_END_IMAGE = re.compile(rb"\sEI(?=[\s/\[<(]|$)")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|[\s\S]?)")
_LIT_AT = re.compile(_LIT)
TJ_SPACE = -180  # a TJ gap wider than this (thousandths of an em) is a word space


def _unescape_one(m: re.Match) -> bytes:
    e = m.group(1)
    if e[:1].isdigit():
        return bytes((int(e, 8) & 0xFF,))
    if e in (b"\r\n", b"\r", b"\n", b""):  # line continuation
        return b""
    return _ESCAPES.get(e[0], e)


def unescape(body: bytes) -> bytes:
    """The bytes of a literal string's inside: \\n, \\( , \\ddd octal, line continuations."""
    return _ESCAPE.sub(_unescape_one, body) if b"\\" in body else body


def literal(data: bytes, pos: int) -> tuple[bytes, int]:
    """The literal string opening at data[pos] == '(' -> (bytes, offset after it). One level
    of unescaped nested parentheses, as producers write; an unclosed string runs to the end."""
    m = _LIT_AT.match(data, pos)
    if m:
        return unescape(m.group()[1:-1]), m.end()
    return unescape(data[pos + 1:]), len(data)


def hexstring(tok: bytes) -> bytes:
    digits = re.sub(rb"[^0-9A-Fa-f]", b"", tok)
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode("ascii"))


class CMap:
    """A ToUnicode CMap: character codes (1 or 2 bytes) -> text."""

    def __init__(self, data: bytes):
        self.chars: dict[int, str] = {}
        self.ranges: list[tuple[int, int, object]] = []
        self.width = 1
        for block in _sections(data, b"bfchar"):
            for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
                self.width = max(self.width, len(src) // 2)
                self.chars[int(src, 16)] = _utf16(dst)
        for block in _sections(data, b"bfrange"):
            for lo, hi, dst, arr in re.findall(
                    rb"<([0-9A-Fa-f]++)>\s*+<([0-9A-Fa-f]++)>\s*+(?:<([0-9A-Fa-f]*+)>|\[([^\[\]]*+)\])", block):
                self.width = max(self.width, len(lo) // 2)
                if arr:
                    target: object = [_utf16(d) for d in re.findall(rb"<([0-9A-Fa-f]*)>", arr)]
                else:
                    target = _utf16(dst)
                self.ranges.append((int(lo, 16), int(hi, 16), target))
        widths = re.findall(rb"begincodespacerange\s*<([0-9A-Fa-f]+)>", data)
        if widths:
            self.width = max(1, len(widths[0]) // 2)

    def decode(self, s: bytes) -> str:
        out, w = [], self.width
        for i in range(0, len(s) - w + 1, w):
            code = int.from_bytes(s[i:i + w], "big")
            ch = self.chars.get(code)
            if ch is None:
                for lo, hi, target in self.ranges:
                    if lo <= code <= hi:
                        if isinstance(target, list):
                            ch = target[code - lo] if code - lo < len(target) else ""
                        elif target:
                            ch = target[:-1] + chr(min(0x10FFFF, ord(target[-1]) + code - lo))
                        break
            out.append(ch or "")
        return "".join(out)


def _sections(data: bytes, name: bytes) -> list[bytes]:
    """The insides of `begin<name> ... end<name>` blocks (split, not matched: linear)."""
    return [piece.partition(b"end" + name)[0] for piece in data.split(b"begin" + name)[1:]]


def _utf16(hexdigits: bytes) -> str:
    raw = hexstring(hexdigits)
    return raw.decode("utf-16-be", "replace") if len(raw) >= 2 else raw.decode("latin-1")


def _show(s: bytes, font: CMap | None) -> str:
    return font.decode(s) if font else s.decode("cp1252", "replace")


def _string(tok: bytes) -> bytes:
    return unescape(tok[1:-1]) if tok[:1] == b"(" else hexstring(tok[1:-1])


def extract(content: bytes, fonts: dict[bytes, CMap], alive: Callable[[], bool]) -> str:
    out: list[str] = []
    font: CMap | None = None
    last_y = None
    pos, count = 0, 0

    def sep(ch: str):
        if out and not out[-1].endswith((ch, "\n")):
            out.append(ch)

    while True:
        m = _OPS.search(content, pos)
        if not m:
            break
        pos = m.end()
        count += 1
        if count % 4096 == 0 and not alive():
            break
        kind = m.lastgroup
        if kind == "sop":
            if m.group("sop") != b"Tj":
                sep("\n")
            out.append(_show(_string(m.group("str")), font))
        elif kind == "arr":
            for item in _ITEM.finditer(m.group("arr")):
                tok = item.group()
                if tok[:1] in (b"(", b"<"):
                    out.append(_show(_string(tok), font))
                elif float(tok) < TJ_SPACE:
                    sep(" ")
        elif kind == "font":
            font = fonts.get(m.group("font"))
        elif kind == "nl":
            sep("\n")
        elif kind == "ty":
            if abs(float(m.group("ty"))) > 0.01:
                sep("\n")
        elif kind == "y":
            y = float(m.group("y"))
            sep("\n" if last_y is not None and abs(y - last_y) > 0.01 else " ")
            last_y = y
        elif kind == "et":
            sep(" ")
        elif kind == "image":  # inline image data runs to EI: binary, skip it
            end = _END_IMAGE.search(content, pos)
            pos = end.end() if end else len(content)
    return "".join(out)
