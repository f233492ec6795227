"""JSON: a streaming walk (no object tree: `[{},{},...]` would cost ~20x its size as
Python objects). Every string value becomes a part named by its JSON path ($.a.b[0]);
long numbers too (card and account numbers are often sent as numbers). Several top-level
values (NDJSON) are walked in turn. The walk is capped at max_json_nodes values.
"""

from __future__ import annotations

import json
import re

from dlp.bodies.context import Ctx, Node
from dlp.bodies.headers import parse_header
from dlp.bodies.text import decode_text
from dlp.bodies.values import decode_value

_TOKEN = re.compile(r'''[ \t\r\n]*(?:
    (?P<s>"[^"\\]*+(?:\\.[^"\\]*+)*+")  # unrolled and possessive: linear on 8 MB strings
  | (?P<n>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<l>true|false|null)
  | (?P<p>[{}\[\]:,])
)''', re.X | re.S)
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
LONG_NUMBER = 8
PATH_FRAMES = 32  # deeper paths are shortened: they are names, not data


class _Frame:
    __slots__ = ("obj", "key", "index", "want_key")

    def __init__(self, obj: bool):
        self.obj, self.key, self.index, self.want_key = obj, None, 0, obj


def _jpath(stack: list[_Frame]) -> str:
    out = ["$"]
    for f in stack[:PATH_FRAMES]:
        if not f.obj:
            out.append(f"[{f.index}]")
        elif f.key is not None:
            out.append(f".{f.key}" if _IDENT.fullmatch(f.key) else f"[{json.dumps(f.key)}]")
    if len(stack) > PATH_FRAMES:
        out.append("...")
    return "".join(out)


def _rest_as_text(ctx: Ctx, node: Node, text: str, pos: int, why: str) -> bool:
    ctx.event("body.decode_error", node.path,
              f"json: {why} at character {pos}; the rest is scanned as text")
    ctx.decode(node.child(text[pos:].encode("utf-8", "replace"), "json-unparsed"))
    return True


def decode_json(ctx: Ctx, node: Node, declared: bool) -> bool:
    """False (nothing emitted) when the body is not JSON after all and was not declared so."""
    text = decode_text(node.data, parse_header(node.content_type)[1].get("charset"))
    if text is None:
        return False
    text = text.lstrip("\ufeff")
    stack: list[_Frame] = []
    pos, count, emitted, end = 0, 0, 0, len(text)
    limit = ctx.limits.max_json_nodes
    while pos < end:
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            if not emitted:  # "[INFO] ..." is a log line, not JSON: scanned as text
                if declared:
                    ctx.event("body.decode_error", node.path, "json: not JSON; scanned as text")
                return False
            return _rest_as_text(ctx, node, text, pos, "invalid")
        pos = m.end()
        kind = m.lastgroup
        count += 1
        if count > limit:
            ctx.event("body.limit_json_nodes", node.path,
                      f"json: more than {limit} values; not walked from {_jpath(stack)}")
            break
        if count % 1024 == 0 and not ctx.alive(node.path):
            return True
        tok = m.group(kind)
        top = stack[-1] if stack else None
        if kind == "p":
            if tok in "{[":
                stack.append(_Frame(tok == "{"))
            elif tok in "}]":
                if not top or top.obj != (tok == "}"):
                    return _rest_as_text(ctx, node, text, m.start(), f"unbalanced {tok!r}")
                stack.pop()
            elif tok == "," and top:
                if top.obj:
                    top.want_key = True
                else:
                    top.index += 1
            continue
        if kind == "s":
            try:
                value = json.loads(tok)
            except ValueError:  # a bad escape: keep the raw characters
                value = tok[1:-1]
            if top and top.obj and top.want_key:
                top.key, top.want_key = value, False
                continue
            if value:
                emitted += 1
                jp = _jpath(stack)
                # "replace": \ud800 is valid JSON but not encodable text
                decode_value(ctx, node.child(value.encode("utf-8", "replace"), f"json:{jp}", name=jp))
        elif kind == "n" and len(tok.lstrip("-")) >= LONG_NUMBER:
            emitted += 1
            jp = _jpath(stack)
            decode_value(ctx, node.child(tok.encode("ascii"), f"json:{jp}", name=jp))
        if ctx.stopped:
            return True
    if stack:
        ctx.event("body.decode_error", node.path, "json: document cut short")
    return True
