"""Nested decoding of HTTP message bodies into text parts for detectors, with hard limits.

    from dlp.bodies import BodyLimits, decode_body
    result = decode_body(body, "multipart/form-data; boundary=x", ["gzip"], BodyLimits())
    result.parts   # [BodyPart(data, text, path=("gzip", "multipart:file", "zip:a.py"), ...)]
    result.events  # [BodyEvent("body.limit_ratio", path, detail), ...]

Formats: Content-Encoding gzip/x-gzip/deflate/br/zstd/identity (undone in reverse order);
multipart/* with base64 and quoted-printable parts; urlencoded forms; JSON (string values,
long numbers, base64 inside); zip and docx/xlsx/pptx/odt/ods/odp; PDF text; tar; .gz, .bz2,
.xz and .zst files; UTF-16 and declared charsets. Anything else binary is a part with text "".

Events (BodyEvent.name): body.limit_decoded_size, body.limit_ratio, body.limit_depth,
body.limit_parts, body.limit_time, body.limit_part_size, body.limit_json_nodes,
body.decode_error, body.unknown_encoding, body.internal_error (a decoder bug, contained to
one node), body.events_dropped. A limit never raises: what was decoded before it is kept.
"""

from dlp.bodies.api import decode_body
from dlp.bodies.context import BodyEvent, DecodeResult
from dlp.bodies.limits import BodyLimits

__all__ = ["BodyEvent", "BodyLimits", "DecodeResult", "decode_body"]
