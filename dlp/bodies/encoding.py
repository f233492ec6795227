"""The Content-Encoding chain: codings are undone in reverse order of listing.

A coding that does not decode at all (a plain body labelled gzip) is skipped and the bytes
are scanned as they are, as libhtp/Suricata do; one that breaks midway keeps what inflated.
"""

from __future__ import annotations

from dlp.bodies.compress import expand
from dlp.bodies.context import Ctx, Node
from dlp.bodies.text import looks_binary

# lzma (.lzma "alone" and .xz, which one decompressor reads) is no registered HTTP coding,
# but servers send it and browsers of old accepted it: HTTP Evader's ce:lzma variant
CODINGS = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate", "br": "br", "zstd": "zstd",
           "lzma": "xz", "xz": "xz", "x-xz": "xz", "identity": None}


def split_codings(values: list[str]) -> list[str]:
    """["gzip, br", "zstd"] -> ["gzip", "br", "zstd"] (repeated headers and lists alike)."""
    return [c.strip().lower() for v in values for c in v.split(",") if c.strip()]


def undo_encodings(ctx: Ctx, node: Node, encodings: list[str]) -> Node:
    for coding in reversed(split_codings(encodings)):
        kind = CODINGS.get(coding, "?")
        if kind is None:
            continue
        if kind == "?":
            ctx.event("body.unknown_encoding", node.path,
                      f"{coding!r}: not decoded; the body is scanned as it is from here")
            break
        if len(node.path) >= ctx.limits.max_depth:
            ctx.event("body.limit_depth", node.path,
                      f"{coding}: more than {ctx.limits.max_depth} layers; not decoded")
            break
        if not ctx.alive(node.path):
            break
        path = node.path + (kind,)
        res = expand(ctx, kind, node.data, path)
        if res.error and (not res.data or (not looks_binary(node.data) and looks_binary(res.data))):
            ctx.event("body.decode_error", node.path,
                      f"{res.error}; labelled {coding} but scanned as it is")
            continue
        if res.error:
            ctx.event("body.decode_error", path,
                      f"{res.error}; scanning the {len(res.data)} bytes that decoded")
        node = node.child(res.data, kind, content_type=node.content_type, filename=node.filename,
                          truncated=node.truncated or res.cut or bool(res.error))
        if res.cut and not res.data:
            break
    return node
