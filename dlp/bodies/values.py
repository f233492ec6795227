"""A single value from a structured body (JSON string, form field): base64 of a file or of
text is decoded; anything else is decoded as a small body of its own."""

from __future__ import annotations

from dlp.bodies import b64
from dlp.bodies.context import Ctx, Node


def decode_value(ctx: Ctx, node: Node) -> None:
    if len(node.data) >= 16 and len(node.path) < ctx.limits.max_depth:
        found = b64.decode(node.data.decode("utf-8", "replace")) if node.data.isascii() else None
        if found:
            ctx.decode(node.child(found[0], "base64", content_type=found[1]))
            return
    ctx.decode(node)
