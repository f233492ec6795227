"""Bounded decompression: gzip, zlib/raw deflate, brotli, zstd, bzip2, xz.

Every decompressor is driven in small steps with a cap on the output of each step, so a
1 KB bomb never allocates more than one step past the cap. The cap is the smaller of the
body's remaining decoded-bytes budget and max_ratio x the compressed size (checked only
past ratio_grace_bytes). Hitting it is an event; what was inflated up to it is kept.
Corrupt input keeps what inflated before the damage (libhtp does the same).
"""

from __future__ import annotations

import bz2
import io
import lzma
import struct
import zlib
from dataclasses import dataclass
from typing import Iterator

import brotli
import zstandard

from dlp.bodies.context import Ctx

IN_STEP = 16 * 1024
OUT_STEP = 256 * 1024
# zstd's decompressobj has no output cap, so input goes in 64-byte steps: a block takes at
# least 4 bytes and gives at most 128 KiB, so one step gives at most 2 MiB.
ZSTD_IN_STEP = 64
ZSTD_WINDOW = 1 << 23  # RFC 8878 asks HTTP decoders for 8 MiB windows; more is a memory attack
XZ_MEMLIMIT = 64 << 20
ERRORS = (zlib.error, ValueError, EOFError, OSError, lzma.LZMAError, brotli.error,
          zstandard.ZstdError, struct.error, IndexError)

try:  # brotli >= 1.2 caps each step's output; older versions only get small input steps
    brotli.Decompressor().process(b"", output_buffer_limit=1)
    BROTLI_BOUNDED = True
except TypeError:  # pragma: no cover - depends on the installed brotli
    BROTLI_BOUNDED = False


@dataclass(slots=True)
class Expanded:
    data: bytes = b""
    error: str = ""  # what went wrong; data holds what inflated before it
    cut: bool = False  # a limit stopped it (the event is already recorded)
    consumed: int = -1  # compressed bytes used, when the stream's end was found
    name: str | None = None  # gzip FNAME


class _State:
    __slots__ = ("complete", "consumed", "error", "name")

    def __init__(self):
        self.complete, self.consumed, self.error, self.name = False, -1, "", None


def _inflate(d, data, st: _State) -> Iterator[bytes]:
    """Feed a zlib-style decompressobj in steps; st.consumed is set at the stream's end."""
    view = memoryview(data)
    pos, buf = 0, b""
    while True:
        if not buf:
            if pos >= len(view):
                return  # input ended before the stream did
            buf, pos = view[pos:pos + IN_STEP], pos + IN_STEP
        before = len(buf)
        piece = d.decompress(buf, OUT_STEP)
        buf = d.unconsumed_tail
        if piece:
            yield piece
        if d.eof:
            st.complete = True
            st.consumed = min(pos, len(view)) - len(d.unused_data)  # unconsumed_tail repeats it
            return
        if not piece and buf and len(buf) == before:
            raise ValueError("decompressor made no progress")


def _zlib_header(head: bytes) -> bool:
    return (len(head) >= 2 and head[0] & 0x0F == 8 and head[0] >> 4 <= 7
            and not head[1] & 0x20 and (head[0] << 8 | head[1]) % 31 == 0)


def _gzip_header(data, pos: int) -> tuple[int, str | None]:
    """Offset just past a gzip member header at `pos`, and its FNAME."""
    if bytes(data[pos:pos + 3]) != b"\x1f\x8b\x08":
        raise ValueError("not gzip data")
    if len(data) < pos + 10:
        raise ValueError("gzip header cut short")
    flags = data[pos + 3]
    at = pos + 10
    if flags & 4:  # FEXTRA
        (xlen,) = struct.unpack_from("<H", data, at)
        at += 2 + xlen
    name = None
    for bit in (8, 16):  # FNAME, FCOMMENT: zero-terminated
        if flags & bit:
            end = bytes(data[at:at + 1024]).find(b"\x00")
            if end < 0:
                raise ValueError("gzip header cut short")
            if bit == 8:
                name = bytes(data[at:at + end]).decode("latin-1")
            at += end + 1
    if flags & 2:  # FHCRC
        at += 2
    if at > len(data):
        raise ValueError("gzip header cut short")
    return at, name


def _gzip(data, st: _State) -> Iterator[bytes]:
    """All members of a gzip file. The trailer is checked here rather than by zlib, so a bad
    CRC costs nothing of what inflated."""
    pos, first = 0, True
    while True:
        start, name = _gzip_header(data, pos)
        if first:
            st.name = name
        sub, crc, size = _State(), 0, 0
        for piece in _inflate(zlib.decompressobj(-15), memoryview(data)[start:], sub):
            crc, size = zlib.crc32(piece, crc), size + len(piece)
            yield piece
        if not sub.complete:
            return
        end = start + sub.consumed
        trailer = bytes(data[end:end + 8])
        if len(trailer) < 8:
            st.complete, st.error = True, "trailer cut short"
            return
        if struct.unpack("<II", trailer) != (crc, size & 0xFFFFFFFF):
            st.error = "CRC or length mismatch"
        pos, first = end + 8, False
        if bytes(data[pos:pos + 2]) != b"\x1f\x8b":  # trailing zero padding is common: ignore it
            st.complete, st.consumed = True, pos
            return


def _zlib(data, st: _State) -> Iterator[bytes]:
    """A zlib stream; its Adler-32 is checked here, so a bad one loses nothing."""
    adler = 1
    for piece in _inflate(zlib.decompressobj(-15), memoryview(data)[2:], st):
        adler = zlib.adler32(piece, adler)
        yield piece
    if st.complete:
        trailer = bytes(data[2 + st.consumed:6 + st.consumed])
        if len(trailer) == 4 and struct.unpack(">I", trailer)[0] != adler:
            st.error = "Adler-32 checksum mismatch"
        st.consumed += 2 + len(trailer)


def _auto(data, st: _State, raw_ok: bool) -> Iterator[bytes]:
    head = bytes(data[:2])
    if head == b"\x1f\x8b":
        return _gzip(data, st)
    if _zlib_header(head):
        return _zlib(data, st)
    if not raw_ok:
        raise ValueError("not gzip data")
    return _inflate(zlib.decompressobj(-15), data, st)


def _brotli(data, st: _State) -> Iterator[bytes]:
    d = brotli.Decompressor()
    pos, step = 0, IN_STEP if BROTLI_BOUNDED else 64
    while not d.is_finished():
        if not BROTLI_BOUNDED or d.can_accept_more_data():
            if pos >= len(data):
                return
            chunk, pos = data[pos:pos + step], pos + step
            piece = (d.process(chunk, output_buffer_limit=OUT_STEP) if BROTLI_BOUNDED
                     else d.process(chunk))
        else:
            piece = d.process(b"", output_buffer_limit=OUT_STEP)
        if piece:
            yield piece
    st.complete = True


def _zstd(data, st: _State) -> Iterator[bytes]:
    view, pos = memoryview(data), 0
    dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_WINDOW)
    d = dctx.decompressobj()
    while pos < len(view):
        piece = d.decompress(view[pos:pos + ZSTD_IN_STEP])
        pos += ZSTD_IN_STEP
        if piece:
            yield piece
        if d.eof:
            rest = len(d.unused_data) + max(0, len(view) - pos)
            if rest and bytes(view[len(view) - rest:len(view) - rest + 4]) == b"\x28\xb5\x2f\xfd":
                pos, d = len(view) - rest, dctx.decompressobj()  # another frame follows
                continue
            st.complete = True
            return


def _buffered(d, data, st: _State) -> Iterator[bytes]:
    """bz2/lzma decompressors keep unconsumed input themselves (`needs_input`)."""
    view, pos = memoryview(data), 0
    while not d.eof:
        if d.needs_input:
            if pos >= len(view):
                return
            chunk, pos = view[pos:pos + IN_STEP], pos + IN_STEP
        else:
            chunk = b""
        piece = d.decompress(chunk, OUT_STEP)
        if piece:
            yield piece
        elif not chunk:
            raise ValueError("decompressor made no progress")
    st.complete = True


def _pieces(kind: str, data, st: _State) -> Iterator[bytes]:
    if kind == "gzip":  # Content-Encoding: gzip, or a .gz file; zlib-wrapped is tolerated
        return _auto(data, st, raw_ok=False)
    if kind == "deflate":  # zlib wrapper as RFC 9110 says, raw deflate as IIS sent it
        return _auto(data, st, raw_ok=True)
    if kind == "deflate-raw":
        return _inflate(zlib.decompressobj(-15), data, st)
    if kind == "br":
        return _brotli(data, st)
    if kind == "zstd":
        return _zstd(data, st)
    if kind == "bz2":
        return _buffered(bz2.BZ2Decompressor(), data, st)
    if kind == "xz":
        return _buffered(lzma.LZMADecompressor(memlimit=XZ_MEMLIMIT), data, st)
    raise ValueError(f"unknown compression {kind!r}")


def expand(ctx: Ctx, kind: str, data, path: tuple[str, ...]) -> Expanded:
    """Decompress `data` (kind as in _pieces) within the body's limits. Never raises."""
    limits = ctx.limits
    ratio_cap = max(limits.ratio_grace_bytes, len(data) * limits.max_ratio)
    budget = ctx.budget()
    if ratio_cap < budget:
        cap, why = ratio_cap, "body.limit_ratio"
    else:
        cap, why = budget, "body.limit_decoded_size"
    st, res, out = _State(), Expanded(), io.BytesIO()  # getvalue() shares, not copies
    pieces = None
    try:
        pieces = _pieces(kind, data, st)
        for piece in pieces:
            if out.tell() + len(piece) > cap:
                out.write(piece[:cap - out.tell()])
                res.cut = True
                reason = (f"over {limits.max_ratio}x its {len(data)} compressed bytes"
                          if why == "body.limit_ratio" else "decoded-bytes budget spent")
                ctx.event(why, path, f"{kind}: output cut at {cap} bytes ({reason}); "
                                     "the rest is not scanned")
                break
            out.write(piece)
            if not ctx.alive(path):
                res.cut = True
                break
        else:
            if not st.complete:
                res.error = f"{kind}: {st.error or 'compressed data cut short'}"
    except ERRORS as e:
        res.error = f"{kind}: {e}"
    except MemoryError:  # xz beyond XZ_MEMLIMIT, zstd window beyond ZSTD_WINDOW
        res.error = f"{kind}: needs too much memory to decode"
    finally:
        if pieces is not None and hasattr(pieces, "close"):
            pieces.close()
    if not res.error and st.error:  # a bad checksum: everything inflated, but say so
        res.error = f"{kind}: {st.error}"
    res.data, res.consumed, res.name = out.getvalue(), st.consumed, st.name
    ctx.charge(len(res.data))
    return res
