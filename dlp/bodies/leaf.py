"""Turning a node into a BodyPart: text when it is text, "" when binary; cut to
max_part_bytes."""

from __future__ import annotations

import mimetypes

from detectors.base import BodyPart
from dlp.bodies.context import Ctx, Node
from dlp.bodies.headers import parse_header
from dlp.bodies.text import decode_text


def emit(ctx: Ctx, node: Node, text: str | None = None, binary: bool = False,
         step: str | None = None, content_type: str | None = None) -> bool:
    """Add `node` as a part. `text` given: already extracted (PDF, office); `binary`: known
    not to be text (images). `step` adds a last path element; `content_type` is the type
    when none was declared."""
    data, truncated = node.data, node.truncated
    path = node.path + (step,) if step else node.path
    limit = ctx.limits.max_part_bytes
    _, params = parse_header(node.content_type)
    if text is None:
        if len(data) > limit:
            ctx.event("body.limit_part_size", path,
                      f"part cut at {limit} of {len(data)} bytes; the rest is not scanned")
            data, truncated = data[:limit], True
        text = "" if binary else (decode_text(data, params.get("charset")) or "")
    else:
        # Extracted text (PDF, office) is what is scanned: the limit is on it. The source
        # bytes are cut to the same size.
        text = text.replace("\x00", "")
        if len(text) > limit:
            ctx.event("body.limit_part_size", path,
                      f"text cut at {limit} of {len(text)} characters; the rest is not scanned")
            text, truncated = text[:limit], True
        if len(data) > limit:
            data, truncated = data[:limit], True
    ctype = node.content_type or content_type
    if not ctype and node.filename:
        ctype = mimetypes.guess_type(node.filename, strict=False)[0]
    return ctx.add(BodyPart(data, text, path, node.name, node.filename, ctype, truncated))
