"""What a body is: from its declared Content-Type, its magic bytes and its file name.

Magic bytes beat a declared type for containers: a zip labelled text/plain or image/png is
still a zip (mislabelling is the cheapest evasion). Kinds: multipart, form, json, gzip, zip,
pdf, zstd, bz2, xz, tar, binary (known non-text formats: images, media, executables).
"""

from __future__ import annotations

import re

_MAGIC = (
    (b"\x1f\x8b", "gzip"), (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"PK\x07\x08", "zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"), (b"\xfd7zXZ\x00", "xz"),
    (b"\x89PNG\r\n\x1a\n", "binary"), (b"\xff\xd8\xff", "binary"), (b"GIF87a", "binary"),
    (b"GIF89a", "binary"), (b"II*\x00", "binary"), (b"MM\x00*", "binary"), (b"\x7fELF", "binary"),
    (b"OggS", "binary"), (b"fLaC", "binary"), (b"ID3", "binary"), (b"\x1aE\xdf\xa3", "binary"),
    (b"wOFF", "binary"), (b"wOF2", "binary"), (b"Rar!\x1a\x07", "binary"),
    (b"7z\xbc\xaf\x27\x1c", "binary"), (b"\x00\x00\x01\x00", "binary"),
)
_BZ2 = re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)")

_TYPES = {
    "application/x-www-form-urlencoded": "form",
    "application/json": "json", "text/json": "json", "application/x-ndjson": "json",
    "application/zip": "zip", "application/x-zip-compressed": "zip", "application/x-zip": "zip",
    "application/java-archive": "zip", "application/epub+zip": "zip",
    "application/pdf": "pdf", "application/x-pdf": "pdf",
    "application/gzip": "gzip", "application/x-gzip": "gzip", "application/x-tar": "tar",
    "application/x-gtar": "tar", "application/zstd": "zstd", "application/x-bzip2": "bz2",
    "application/x-xz": "xz",
}
_EXTENSIONS = {
    ".zip": "zip", ".docx": "zip", ".xlsx": "zip", ".pptx": "zip", ".odt": "zip", ".ods": "zip",
    ".odp": "zip", ".jar": "zip", ".pdf": "pdf", ".gz": "gzip", ".tgz": "gzip", ".tar": "tar",
    ".zst": "zstd", ".bz2": "bz2", ".xz": "xz",
}


def declared(main_type: str) -> str | None:
    """Kind named by a Content-Type main value (already lower-cased, without parameters)."""
    if main_type.startswith("multipart/"):
        return "multipart"
    if main_type in _TYPES:
        return _TYPES[main_type]
    if main_type.endswith("+json"):
        return "json"
    if main_type.startswith(("application/vnd.openxmlformats-officedocument.",
                             "application/vnd.oasis.opendocument.")):
        return "zip"
    if main_type.startswith(("image/", "video/", "audio/", "font/")):
        return "binary"
    return None


def magic(data: bytes) -> str | None:
    for prefix, kind in _MAGIC:
        if data.startswith(prefix):
            return kind
    if b"%PDF-" in data[:1024]:  # some producers put junk before the header; readers allow it
        return "pdf"
    if _BZ2.match(data):
        return "bz2"
    if data[257:262] == b"ustar":
        return "tar"
    if data[4:8] == b"ftyp":  # MP4, MOV, HEIC
        return "binary"
    return None


def trailing_zip(data: bytes) -> bool:
    """A zip after other bytes: self-extractors, and an archive appended to an image (a
    classic way to smuggle one past a scanner that trusts the first bytes)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    return end > 0 and data.find(b"PK\x03\x04", 0, end) >= 0


def from_filename(filename: str | None) -> str | None:
    if not filename:
        return None
    lower = filename.lower()
    for ext, kind in _EXTENSIONS.items():
        if lower.endswith(ext):
            return kind
    return None


def looks_json(data: bytes) -> bool:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] in (b"{", b"[")


_BOUNDARY_LINE = re.compile(rb"--([\x21-\x7e]{1,70})[ \t]*\r?\n")


def multipart_boundary(data: bytes) -> str | None:
    """A body that starts like multipart/form-data, for when the header is missing."""
    m = _BOUNDARY_LINE.match(data)
    if m and b"content-disposition:" in data[m.end():m.end() + 1024].lower():
        return m.group(1).decode("ascii")
    return None
