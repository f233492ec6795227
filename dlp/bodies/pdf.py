"""PDF -> text, without a PDF library: objects are found by `N G obj` ... `endobj`, streams
decoded (FlateDecode, ASCIIHex, ASCII85; images and fonts skipped), object streams opened
so fonts inside them are found, and the text of every content stream is extracted with its
fonts' ToUnicode maps. Embedded files are decoded as files. Good enough for what common
producers (office suites, browsers, LaTeX) write; encrypted PDFs are reported, not read."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from dlp.bodies.compress import expand
from dlp.bodies.context import Ctx, Node
from dlp.bodies.leaf import emit
from dlp.bodies.pdftext import CMap, extract, hexstring, literal

# Patterns start only where a match can start (`(?<!\d)`, a literal) and run possessively:
# a megabyte of digits must not make a search quadratic.
_OBJ = re.compile(rb"(?<!\d)(\d++)\s++\d++\s++obj\b")
_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
_LENGTH = re.compile(rb"/Length\s++(\d++)(?!\s+\d+\s+R)")
_FILTER = re.compile(rb"/Filter\s*+(\[[^\[\]]*+\]|/[A-Za-z0-9]++)")
_SKIP = re.compile(rb"/Subtype\s*/(?:Image|Type1C|CIDFontType0C|OpenType|XML)\b|/Length[123]\b"
                   rb"|/Type\s*/(?:XRef|Metadata|EmbeddedFile|ObjStm)\b")
_BT = re.compile(rb"\bBT\b")
_SHOW = re.compile(rb"T[jJ]|['\"]")
_ENCRYPT = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")
_REF = rb"(\d++)\s++\d++\s++R"
_EF = re.compile(rb"/EF\s*+<<((?:[^<>/]|/(?!EF))*+)>>")  # stops at the next /EF: linear
MAX_OBJECTS = 200_000


@dataclass(slots=True)
class _Obj:
    dict: bytes
    stream: tuple[int, int] | None  # offsets in the file


def _objects(data: bytes, ctx: Ctx, path) -> dict[int, _Obj]:
    objs: dict[int, _Obj] = {}
    pos = 0
    while len(objs) < MAX_OBJECTS and ctx.alive(path):
        m = _OBJ.search(data, pos)
        if not m:
            break
        num, start = int(m.group(1)), m.end()
        endobj = data.find(b"endobj", start)
        stop = endobj if endobj >= 0 else len(data)
        s = _STREAM.search(data, start, stop)
        if s:
            head = data[start:min(s.start() + 2, start + 65536)]  # a real dictionary is small
            begin = s.end()
            length = _LENGTH.search(head)
            end = begin + int(length.group(1)) if length else -1
            if end < 0 or b"endstream" not in data[end:end + 32]:
                end = data.find(b"endstream", begin)
                end = len(data) if end < 0 else end
            objs[num] = _Obj(head, (begin, end))
            pos = data.find(b"endobj", end)
            pos = len(data) if pos < 0 else pos + 6
        else:
            objs[num] = _Obj(data[start:min(stop, start + 65536)], None)
            pos = stop + 6
    return objs


def _filters(head: bytes) -> list[bytes]:
    m = _FILTER.search(head)
    return re.findall(rb"/([A-Za-z0-9]+)", m.group(1)) if m else []


def _stream(ctx: Ctx, data: bytes, obj: _Obj, path) -> bytes | None:
    if obj.stream is None:
        return None
    raw = memoryview(data)[obj.stream[0]:obj.stream[1]]
    try:
        for f in _filters(obj.dict):
            if f in (b"FlateDecode", b"Fl"):
                res = expand(ctx, "deflate", raw, path)
                if res.error and not res.data:
                    ctx.event("body.decode_error", path, f"pdf: {res.error}")
                    return None
                raw = res.data
            elif f in (b"ASCIIHexDecode", b"AHx"):
                raw = hexstring(bytes(raw).split(b">")[0])
            elif f in (b"ASCII85Decode", b"A85"):
                body = bytes(raw).strip()
                body = body[2:] if body.startswith(b"<~") else body
                raw = base64.a85decode(body.split(b"~>")[0], ignorechars=b" \t\n\r\x00\x0c")
            else:
                return None  # image codecs, LZW: no text for us
    except (ValueError, binascii.Error):
        return None
    return bytes(raw)


def _open_object_streams(ctx: Ctx, data: bytes, objs: dict[int, _Obj], path) -> None:
    for obj in [o for o in objs.values() if re.search(rb"/Type\s*/ObjStm\b", o.dict)]:
        if not ctx.alive(path):
            return
        body = _stream(ctx, data, obj, path)
        first = re.search(rb"/First\s+(\d+)", obj.dict)
        if not body or not first:
            continue
        base = int(first.group(1))
        nums = [int(x) for x in re.findall(rb"\d+", body[:base])]
        pairs = list(zip(nums[0::2], nums[1::2]))
        for i, (num, off) in enumerate(pairs):
            end = base + pairs[i + 1][1] if i + 1 < len(pairs) else len(body)
            objs.setdefault(num, _Obj(body[base + off:end], None))


def _fonts(ctx: Ctx, data: bytes, objs: dict[int, _Obj], path) -> dict[bytes, CMap]:
    """Font resource name (F1) -> ToUnicode map. Names are gathered from every /Font
    dictionary in the file; where pages reuse a name for different fonts, the first wins."""
    cmaps: dict[int, CMap] = {}
    for num, obj in objs.items():
        ref = re.search(rb"/ToUnicode\s+" + _REF, obj.dict)
        target = objs.get(int(ref.group(1))) if ref else None
        if target is not None:
            body = _stream(ctx, data, target, path)
            if body:
                cmaps[num] = CMap(body)
    names: dict[bytes, int] = {}
    for obj in objs.values():
        dicts = [m.group(1) for m in re.finditer(rb"/Font\s*+<<([^<>]*+)>>", obj.dict)]
        for m in re.finditer(rb"/Font\s+" + _REF, obj.dict):
            res = objs.get(int(m.group(1)))
            if res is not None:
                dicts.append(res.dict)
        for d in dicts:
            for name, ref in re.findall(rb"/([^\s/<>\[\]()]++)\s++" + _REF, d):
                names.setdefault(name, int(ref))
    return {name: cmaps[num] for name, num in names.items() if num in cmaps}


def _embedded_names(objs: dict[int, _Obj]) -> dict[int, str]:
    """Embedded file stream -> the file name from its file specification."""
    out: dict[int, str] = {}
    for obj in objs.values():
        m = _EF.search(obj.dict)
        ef = re.search(rb"/U?F\s++" + _REF, m.group(1)) if m else None
        if not ef:
            continue
        name = re.search(rb"/UF?\s*\(", obj.dict)
        if name:
            raw, _ = literal(obj.dict, name.end() - 1)
            utf16 = raw.startswith(b"\xfe\xff")  # PDF text strings: UTF-16BE with BOM, or PDFDoc
            name_text = raw[2:].decode("utf-16-be", "replace") if utf16 else raw.decode("latin-1")
            out[int(ef.group(1))] = name_text
    return out


def decode_pdf(ctx: Ctx, node: Node) -> bool:
    data, path = node.data, node.path + ("pdf",)
    if _ENCRYPT.search(data):
        ctx.event("body.decode_error", node.path, "pdf: encrypted; text not extracted")
        emit(ctx, node, binary=True, step="pdf", content_type="application/pdf")
        return True
    objs = _objects(data, ctx, path)
    _open_object_streams(ctx, data, objs, path)
    fonts = _fonts(ctx, data, objs, path)
    texts: list[str] = []
    embedded: list[tuple[int, _Obj]] = []
    for num, obj in objs.items():
        if not ctx.alive(path):
            break
        if obj.stream is None:
            continue
        if re.search(rb"/Type\s*/EmbeddedFile\b", obj.dict):
            embedded.append((num, obj))
            continue
        if _SKIP.search(obj.dict):
            continue
        content = _stream(ctx, data, obj, path)
        if content and _BT.search(content) and _SHOW.search(content):
            text = extract(content, fonts, lambda: ctx.alive(path))
            if text.strip():
                texts.append(text)
    emit(ctx, node, text="\n".join(texts), step="pdf", content_type="application/pdf")
    names = _embedded_names(objs) if embedded else {}
    for num, obj in embedded:
        body = _stream(ctx, data, obj, path)
        if body is not None and ctx.alive(path):
            fname = names.get(num)
            ctx.decode(node.child(body, f"pdf:{fname or num}", filename=fname))
    return True
