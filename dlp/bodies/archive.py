"""Archives and compressed files: zip (office documents included), tar, and single
compressed files (.gz, .bz2, .xz, .zst). Members are decoded recursively by sniffing;
a member that cannot be extracted (encrypted, unknown method) is still a part, with no
text, so detectors see its name."""

from __future__ import annotations

import io
import struct
import tarfile

from dlp.bodies import office
from dlp.bodies.compress import expand
from dlp.bodies.context import Ctx, Node
from dlp.bodies.leaf import emit
from dlp.bodies.zipread import (BZIP2, DEFLATED, STORED, Entry, central_entries, next_local,
                                stored_end)

_SUFFIXES = {"gzip": (".gz", ".tgz"), "bz2": (".bz2",), "xz": (".xz",), "zstd": (".zst",)}


def decode_compressed(ctx: Ctx, node: Node, kind: str) -> bool:
    """A .gz/.bz2/.xz/.zst file: its content is decoded as a file of its own."""
    res = expand(ctx, kind, node.data, node.path + (kind,))
    if res.error:
        ctx.event("body.decode_error", node.path + (kind,),
                  f"{res.error}; scanning the {len(res.data)} bytes that decoded")
    if res.error and not res.data:
        return False
    name = res.name
    if not name and node.filename:
        name = node.filename
        for suffix in _SUFFIXES.get(kind, ()):
            if name.lower().endswith(suffix):
                name = name[:-len(suffix)] + (".tar" if suffix == ".tgz" else "")
    ctx.decode(node.child(res.data, kind, filename=name,
                          truncated=node.truncated or res.cut or bool(res.error)))
    return True


# -- zip ---------------------------------------------------------------------------

def _extract(ctx: Ctx, node: Node, e: Entry, path) -> tuple[bytes | None, int, bool]:
    """(data or None, compressed bytes used or -1, truncated)."""
    data = node.data
    if e.encrypted:
        ctx.event("body.decode_error", path, "zip: member is encrypted; not scanned")
        return None, -1, True
    if e.method == STORED:
        end = e.start + e.csize if e.csize >= 0 else stored_end(data, e.start)
        raw = data[e.start:end]
        cut = len(raw) > ctx.budget()
        if cut:
            ctx.event("body.limit_decoded_size", path,
                      "zip: decoded-bytes budget spent; the rest of the member is not scanned")
            raw = raw[:ctx.budget()]
        ctx.charge(len(raw))
        return raw, end - e.start, cut or (e.csize >= 0 and len(raw) < e.csize)
    if e.method in (DEFLATED, BZIP2):
        view = memoryview(data)
        comp = view[e.start:e.start + e.csize] if e.csize >= 0 else view[e.start:]
        res = expand(ctx, "deflate-raw" if e.method == DEFLATED else "bz2", comp, path)
        if res.error:
            ctx.event("body.decode_error", path, f"zip: {res.error}; scanning what decoded")
        return res.data, res.consumed, res.cut or bool(res.error)
    ctx.event("body.decode_error", path, f"zip: compression method {e.method} not supported")
    return None, -1, True


def _member(ctx: Ctx, node: Node, e: Entry) -> int:
    """Decode one member; returns the compressed bytes it used (-1: unknown)."""
    step = f"zip:{e.name}"
    data, used, cut = _extract(ctx, node, e, node.path + (step,))
    child = node.child(data or b"", step, filename=e.name, truncated=node.truncated or cut)
    if data is None:
        emit(ctx, child, binary=True)
    else:
        ctx.decode(child)
    return used


def _office(ctx: Ctx, node: Node, doc: str, entries: list[Entry]) -> None:
    by_name = {e.name: e for e in entries}
    shared: list[str] = []
    if doc == "xlsx" and "xl/sharedStrings.xml" in by_name:
        raw, _, _ = _extract(ctx, node, by_name["xl/sharedStrings.xml"], node.path + ("xlsx",))
        shared = office.shared_strings((raw or b"").decode("utf-8", "replace"))
    for name in office.text_members(doc, list(by_name)):
        step = f"{doc}:{name}"
        if not ctx.alive(node.path + (step,)):
            return
        raw, _, cut = _extract(ctx, node, by_name[name], node.path + (step,))
        if raw is None:
            continue
        xml = raw.decode("utf-8", "replace")
        text = office.sheet_text(xml, shared) if doc == "xlsx" else office.xml_text(xml)
        emit(ctx, node.child(raw, step, truncated=node.truncated or cut,
                             content_type="application/xml"), text=text)
    for e in entries:
        if office.is_embedded(e.name) and ctx.alive(node.path + (f"zip:{e.name}",)):
            _member(ctx, node, e)


def decode_zip(ctx: Ctx, node: Node) -> bool:
    data, cap = node.data, ctx.limits.max_parts
    try:
        found = central_entries(data, cap)
    except struct.error:
        found = None
    if found is None:
        return _walk_local(ctx, node, cap)
    entries, more = found
    if not entries:
        return False  # an empty zip (or a stray signature): the bytes are the part
    names = {e.name for e in entries}
    mimetype = None
    if "mimetype" in names:
        e = next(e for e in entries if e.name == "mimetype")
        if e.method == STORED and 0 <= e.csize <= 200:
            mimetype = data[e.start:e.start + e.csize]
    doc = office.kind(names, mimetype)
    if doc:
        _office(ctx, node, doc, entries)
    else:
        for e in entries:
            if not ctx.alive(node.path + (f"zip:{e.name}",)):  # names the first member left out
                break
            if not e.is_dir:
                _member(ctx, node, e)
    if more:
        ctx.event("body.limit_parts", node.path,
                  f"zip: more than {cap} entries; the rest not scanned")
    return True


def _walk_local(ctx: Ctx, node: Node, cap: int) -> bool:
    """No central directory (the zip was cut short): find members by their local headers."""
    pos, count = 0, 0
    while ctx.alive(node.path):
        try:
            e = next_local(node.data, pos)
        except struct.error:
            break
        if e is None:
            break
        if count == 0:
            ctx.event("body.decode_error", node.path,
                      "zip: no central directory (cut short?); members found from local headers")
        count += 1
        if count > cap:
            ctx.event("body.limit_parts", node.path,
                      f"zip: more than {cap} entries; the rest not scanned")
            break
        if not ctx.alive(node.path + (f"zip:{e.name}",)):
            break
        used = -1 if e.is_dir else _member(ctx, node, e)
        size = e.csize if e.csize >= 0 else used
        pos = e.start + max(size, 0)
        if size <= 0:
            pos = e.start  # unknown size: look for the next header after this one's start
    return count > 0


# -- tar ---------------------------------------------------------------------------

def decode_tar(ctx: Ctx, node: Node) -> bool:
    cap = ctx.limits.max_parts
    try:
        tf = tarfile.open(fileobj=io.BytesIO(node.data), mode="r:")
    except Exception:  # tarfile parses hostile bytes; any failure means "not a tar"
        return False
    count = 0
    while ctx.alive(node.path):
        try:
            m = tf.next()
        except Exception as e:  # a broken header after good members: keep those
            ctx.event("body.decode_error", node.path, f"tar: {e}; later members not scanned")
            break
        if m is None:
            break
        count += 1
        if count > cap:
            ctx.event("body.limit_parts", node.path,
                      f"tar: more than {cap} members; the rest not scanned")
            break
        if not m.isreg():
            continue
        if not ctx.alive(node.path + (f"tar:{m.name}",)):
            break
        body = node.data[m.offset_data:m.offset_data + m.size]
        cut = len(body) < m.size
        if cut:
            ctx.event("body.decode_error", node.path + (f"tar:{m.name}",), "tar: member cut short")
        ctx.decode(node.child(body, f"tar:{m.name}", filename=m.name,
                              truncated=node.truncated or cut))
    return count > 0
