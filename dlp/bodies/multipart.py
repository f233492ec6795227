"""multipart/* bodies (form-data uploads, mixed): every part with its field name, file name
and content type; base64 and quoted-printable transfer encodings undone. A body cut short
(no closing delimiter) still gives its parts, the last one marked truncated."""

from __future__ import annotations

import binascii

from dlp.bodies.context import Ctx, Node
from dlp.bodies.headers import parse_block, parse_header

MAX_HEADER = 16 * 1024  # part headers longer than this are not headers


def _split_part(raw: bytes) -> tuple[dict[str, str], bytes]:
    if raw.startswith(b"\r\n"):
        return {}, raw[2:]
    if raw.startswith(b"\n"):
        return {}, raw[1:]
    crlf, lf = raw.find(b"\r\n\r\n", 0, MAX_HEADER), raw.find(b"\n\n", 0, MAX_HEADER)
    if crlf < 0 and lf < 0:
        return {}, raw
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return parse_block(raw[:crlf]), raw[crlf + 4:]
    return parse_block(raw[:lf]), raw[lf + 2:]


def _transfer_decode(ctx: Ctx, path, cte: str, body: bytes) -> bytes:
    cte = cte.strip().lower()
    if cte == "base64":
        try:
            # Not validating: MIME base64 has line breaks, and lenient is what mail clients do.
            return binascii.a2b_base64(body)
        except binascii.Error as e:
            ctx.event("body.decode_error", path, f"base64 transfer encoding: {e}; scanned as it is")
            return body
    if cte == "quoted-printable":
        return binascii.a2b_qp(body)
    return body


def _first_delimiter(data: bytes, delim: bytes) -> int:
    if data.startswith(delim):
        return 0
    at = data.find(b"\n" + delim)
    return at + 1 if at >= 0 else -1


def decode_multipart(ctx: Ctx, node: Node, boundary: str | None) -> bool:
    if not boundary:
        ctx.event("body.decode_error", node.path, "multipart without a boundary parameter")
        return False
    data, delim = node.data, b"--" + boundary.encode("latin-1", "replace")
    pos = _first_delimiter(data, delim)
    if pos < 0:
        ctx.event("body.decode_error", node.path, "multipart: declared boundary not in the body")
        return False
    index, closed = 0, False
    while ctx.alive(node.path):
        after = pos + len(delim)
        if data[after:after + 2] == b"--":
            closed = True
            break
        eol = data.find(b"\n", after)
        if eol < 0:
            break
        start = eol + 1
        nxt = data.find(b"\n" + delim, start - 1)
        end = len(data) if nxt < 0 else (nxt - 1 if nxt > start and data[nxt - 1] == 13 else nxt)
        if end <= start and nxt >= 0:  # an empty part (no headers either): nothing to scan
            index, pos = index + 1, nxt + 1
            continue
        headers, body = _split_part(data[start:end])
        _, disposition = parse_header(headers.get("content-disposition"))
        _, type_params = parse_header(headers.get("content-type"))
        # Mail clients put the file name in Content-Type's `name` when there is no filename.
        name, filename = disposition.get("name"), disposition.get("filename") or type_params.get("name")
        step = f"multipart:{name or filename or index}"
        cte = headers.get("content-transfer-encoding", "")
        body = _transfer_decode(ctx, node.path + (step,), cte, body)
        ctx.decode(node.child(body, step, name=name, filename=filename,
                              content_type=headers.get("content-type"),
                              truncated=node.truncated or nxt < 0))
        index += 1
        if nxt < 0:
            break
        pos = nxt + 1
    if not closed and not ctx.stopped:
        ctx.event("body.decode_error", node.path, "multipart: no closing delimiter (body cut short?)")
    return True
