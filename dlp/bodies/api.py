"""decode_body: an HTTP message body -> text parts for detectors, within hard limits.

The dispatcher picks a decoder per node (declared structure first, then magic bytes, then
the file name, then JSON/multipart sniffing) and falls back to a plain part: text when the
bytes are text, "" when binary. Decoders recurse through ctx.decode, so nesting of any
formats (gzip -> multipart -> zip -> docx) works and is bounded by max_depth.
"""

from __future__ import annotations

import structlog

from dlp.bodies import archive, sniff
from dlp.bodies.context import Ctx, DecodeResult, Node
from dlp.bodies.encoding import undo_encodings
from dlp.bodies.form import decode_form
from dlp.bodies.headers import parse_header
from dlp.bodies.jsonwalk import decode_json
from dlp.bodies.leaf import emit
from dlp.bodies.limits import BodyLimits
from dlp.bodies.multipart import decode_multipart
from dlp.bodies.pdf import decode_pdf

log = structlog.get_logger("dlp.bodies")
_COMPRESSED = ("gzip", "zstd", "bz2", "xz")


def _candidates(node: Node, main: str, params: dict[str, str]) -> list[tuple[str, str | None]]:
    """(kind, boundary) to try in order."""
    out: list[tuple[str, str | None]] = []
    declared = sniff.declared(main)
    if declared in ("multipart", "form", "json"):
        out.append((declared, params.get("boundary")))
    magic = sniff.magic(node.data)
    if magic in (None, "binary") and sniff.trailing_zip(node.data):
        out.append(("zip", None))
    if magic:
        out.append((magic, None))
    elif declared not in (None, "multipart", "form", "json", "binary"):
        out.append((declared, None))  # e.g. an old tar without the ustar magic
    elif sniff.from_filename(node.filename) == "tar":
        out.append(("tar", None))
    if not node.filename and sniff.looks_json(node.data):
        out.append(("json", None))  # files stay files: a .json member is scanned whole
    boundary = sniff.multipart_boundary(node.data)
    if boundary:
        out.append(("multipart", boundary))
    if declared == "binary" and not magic:
        out.append(("binary?", None))
    return out


def _try(ctx: Ctx, node: Node, kind: str, boundary: str | None, main: str) -> bool:
    if kind == "multipart":
        return decode_multipart(ctx, node, boundary)
    if kind == "form":
        return decode_form(ctx, node)
    if kind == "json":
        return decode_json(ctx, node, declared=sniff.declared(main) == "json")
    if kind == "zip":
        return archive.decode_zip(ctx, node)
    if kind == "tar":
        return archive.decode_tar(ctx, node)
    if kind in _COMPRESSED:
        return archive.decode_compressed(ctx, node, kind)
    if kind == "pdf":
        return decode_pdf(ctx, node)
    return False


def _dispatch(ctx: Ctx, node: Node) -> None:
    if not ctx.alive(node.path):
        return
    if not node.data and not node.filename:
        return  # nothing to scan, no name to report
    main, params = parse_header(node.content_type)
    for kind, boundary in _candidates(node, main, params):
        if kind == "binary":
            emit(ctx, node, binary=True)
            return
        if kind == "binary?":
            break  # declared an image but no known magic: text if it looks like text
        if len(node.path) >= ctx.limits.max_depth:
            ctx.event("body.limit_depth", node.path,
                      f"{kind} nested more than {ctx.limits.max_depth} deep; scanned as it is")
            break
        try:
            if _try(ctx, node, kind, boundary, main):
                return
        except Exception as e:  # noqa: BLE001 - a decoder bug must cost one node, not the body
            ctx.event("body.internal_error", node.path, f"{kind}: {type(e).__name__}: {e}")
            log.warning("body decoder failed", kind=kind, path=node.path, exc_info=True)
        if ctx.stopped:
            return
    emit(ctx, node)


def decode_body(data: bytes, content_type: str | None, content_encodings: list[str],
                limits: BodyLimits | None = None, filename: str | None = None) -> DecodeResult:
    """Decode an HTTP message body (after de-chunking) into parts. Never raises for any input;
    every limit reached is an event in the result, and what was decoded before it is kept."""
    ctx = Ctx(limits or BodyLimits(), _dispatch)
    node = Node(bytes(data), (), content_type, None, filename)
    try:
        node = undo_encodings(ctx, node, content_encodings or [])
        ctx.decode(node)
    except Exception as e:  # noqa: BLE001 - last resort; _dispatch already guards each decoder
        ctx.event("body.internal_error", node.path, f"{type(e).__name__}: {e}")
        log.warning("body decoding failed", exc_info=True)
    return ctx.finish()
