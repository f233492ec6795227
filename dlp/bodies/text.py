"""Bytes -> text: BOMs, declared charsets, UTF-16 without BOM, UTF-8 when valid-ish, else
latin-1. Binary data gives None, so images and compressed data are never scanned as text."""

from __future__ import annotations

import codecs

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
SAMPLE = 8192
# Control bytes that never appear in text (tab, LF, VT, FF, CR and ESC do). NUL is left
# out: NUL-padded text is text once the NULs are stripped.
_CONTROL = bytes(b for b in range(1, 32) if b not in (9, 10, 11, 12, 13, 27)) + b"\x7f"
_HIGH = bytes(range(128, 256))


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        info = codecs.lookup(charset.strip().strip('"'))
    except LookupError:
        return None
    # rot13, base64, zlib... are codecs too, but not text encodings.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def _bom(data: bytes) -> tuple[str, int] | None:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    return None


def utf16_guess(data: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-ASCII text has a NUL in every other byte."""
    s = data[:SAMPLE]
    s = s[:len(s) & ~1]
    half = len(s) // 2
    if half < 4:
        return None
    even, odd = s[0::2].count(0), s[1::2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def looks_binary(data: bytes) -> bool:
    """Control bytes in more than 2% of the sample (random data: ~10%; text: ~0)."""
    s = data[:SAMPLE].replace(b"\x00", b"")
    if not s:
        return False
    control = len(s) - len(s.translate(None, _CONTROL))
    return control * 50 > len(s)


def _utf8_or_8bit(data: bytes, fallback: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    dec = codecs.getincrementaldecoder("utf-8")("replace")
    body = dec.decode(data, final=False)  # an incomplete sequence at the end is not "bad"
    bad = body.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    high = len(data) - len(data.translate(None, _HIGH))
    # Valid-ish: a few broken sequences among many good ones (a cut, a stray byte). Latin-1
    # text breaks at nearly every high byte.
    if bad * 10 <= high:
        return body + dec.decode(b"", final=True)
    return data.decode(fallback, "replace")


def decode_text(data: bytes, charset: str | None = None) -> str | None:
    """The text of `data`, or None when it is binary. NULs are stripped."""
    bom = _bom(data)
    if bom:
        text = data[bom[1]:].decode(bom[0], "replace")
    else:
        codec = _codec(charset)
        wide = codec and codec.startswith(("utf-16", "utf-32"))
        guess = None if codec else utf16_guess(data)
        if wide or guess:
            text = data.decode(codec or guess, "replace")
            if looks_binary(text[:SAMPLE].encode("utf-8", "replace")):
                return None
        elif looks_binary(data):
            return None
        elif codec and codec not in ("utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"):
            text = data.decode(codec, "replace")
        else:
            # Declared utf-8/ascii/latin-1 is often wrong; the bytes decide.
            text = _utf8_or_8bit(data, "cp1252" if codec == "cp1252" else "latin-1")
    return text.replace("\x00", "")


def strict_text(data: bytes) -> str | None:
    """Text only if it is clean UTF-8 (or has a BOM) and printable: for guessing whether
    a decoded base64 string was text. Random bytes almost never pass."""
    bom = _bom(data)
    try:
        text = data[bom[1]:].decode(bom[0]) if bom else data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    sample = text[:SAMPLE]
    odd = sum(1 for ch in sample if not ch.isprintable() and ch not in "\t\n\r")
    return text if sample and odd * 50 <= len(sample) else None
