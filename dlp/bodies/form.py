"""application/x-www-form-urlencoded: each field is a part named after the field."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from dlp.bodies.context import Ctx, Node
from dlp.bodies.values import decode_value


def decode_form(ctx: Ctx, node: Node) -> bool:
    """False when the body has no `=` at all: not a form, whatever its label says (JSON
    sent as a form is common); it is then sniffed like any other body."""
    if b"=" not in node.data:
        return False
    for i, field in enumerate(node.data.split(b"&")):
        if not ctx.alive(node.path):
            break
        if not field:
            continue
        raw_name, eq, raw_value = field.partition(b"=")
        if not eq:  # a bare token is a name without value, but it is data all the same
            raw_name, raw_value = b"", raw_name
        name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8", "replace")
        value = unquote_to_bytes(raw_value.replace(b"+", b" "))
        if value:  # an empty field has nothing to scan
            decode_value(ctx, node.child(value, f"form:{name or '#' + str(i)}", name=name or None))
    return True
