"""One format at a time: multipart, urlencoded forms, JSON (with base64), zip, office
documents, tar, compressed files, text charsets, binary data and sniffing."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import os
import zipfile

from tests.bodies.builders import (email_multipart, make_docx, make_odf, make_pptx, make_tar,
                                   make_xlsx, make_zip, multipart)
from tests.bodies.helpers import decode, events, part, texts

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(200)


# -- multipart -----------------------------------------------------------------------

def test_multipart_fields_and_files():
    body, ctype = multipart([
        ("comment", b"see attached", None, None),
        ("file", b"def main():\n    pass\n", "main.py", "text/x-python"),
        ("photo", PNG, "cat.png", "image/png"),
    ])
    r = decode(body, ctype)
    assert r.events == []
    c, f, img = r.parts
    assert (c.path, c.name, c.text) == (("multipart:comment",), "comment", "see attached")
    assert (f.path, f.filename, f.content_type, f.text) == (
        ("multipart:file",), "main.py", "text/x-python", "def main():\n    pass\n")
    assert (img.path, img.filename, img.text, img.data) == (("multipart:photo",), "cat.png", "", PNG)


def test_multipart_transfer_encodings_from_email_mime():
    zipped = make_zip({"notes.txt": "zip inside mime"})
    body, ctype = email_multipart("caf\u00e9 cr\u00e8me secret=42 " * 5, zipped)
    r = decode(body, ctype)
    assert part(r, ("multipart:0",)).text == "caf\u00e9 cr\u00e8me secret=42 " * 5  # quoted-printable
    notes = part(r, ("multipart:n.zip", "zip:notes.txt"))  # base64, name from Content-Type
    assert notes.text == "zip inside mime" and notes.filename == "notes.txt"


def test_multipart_nested_mixed_inside_form_data():
    inner, inner_type = multipart([("a", b"inner text", "a.txt", "text/plain")], boundary="inner")
    body, ctype = multipart([("bundle", inner, None, inner_type)], boundary="outer")
    r = decode(body, ctype)
    assert texts(r) == {("multipart:bundle", "multipart:a"): "inner text"}


def test_multipart_cut_short_keeps_parts():
    body, ctype = multipart([("a", b"first", None, None), ("b", b"second part text", None, None)])
    r = decode(body[:body.index(b"part text") + 4], ctype)
    assert texts(r) == {("multipart:a",): "first", ("multipart:b",): "second part"}
    assert part(r, ("multipart:b",)).truncated and not part(r, ("multipart:a",)).truncated
    assert events(r) == ["body.decode_error"]


def test_multipart_lf_line_endings_and_rfc5987_filename():
    body = (b'--b\nContent-Disposition: form-data; name="f"; filename="x"; '
            b"filename*=UTF-8''%E2%82%AC%20report.txt\n\nEuro text\n--b--\n")
    r = decode(body, "multipart/form-data; boundary=b")
    (p,) = r.parts
    assert (p.filename, p.text) == ("\u20ac report.txt", "Euro text")


def test_multipart_without_header_is_sniffed():
    body, _ = multipart([("token", b"s3cr3t value", None, None)])
    assert texts(decode(body, None)) == {("multipart:token",): "s3cr3t value"}
    assert texts(decode(body, "application/octet-stream")) == {("multipart:token",): "s3cr3t value"}


def test_multipart_with_wrong_boundary_finds_the_real_one():
    body, _ = multipart([("a", b"value", None, None)])
    r = decode(body, "multipart/form-data; boundary=nope")
    assert texts(r) == {("multipart:a",): "value"} and events(r) == ["body.decode_error"]


# -- urlencoded ------------------------------------------------------------------------

def test_form_fields_percent_decoded():
    r = decode(b"user=bob&msg=hello+world%21%0Aline2&empty=&caf%C3%A9=cr%C3%A8me",
               "application/x-www-form-urlencoded")
    assert texts(r) == {("form:user",): "bob", ("form:msg",): "hello world!\nline2",
                        ("form:caf\u00e9",): "cr\u00e8me"}
    assert [p.name for p in r.parts] == ["user", "msg", "caf\u00e9"]


def test_form_bare_tokens_and_json_sent_as_form():
    r = decode(b"a=1&4111111111111111&b=2", "application/x-www-form-urlencoded")
    assert texts(r) == {("form:a",): "1", ("form:#1",): "4111111111111111", ("form:b",): "2"}
    r = decode(b'{"card": "4111111111111111"}', "application/x-www-form-urlencoded")
    assert texts(r) == {("json:$.card",): "4111111111111111"}


def test_form_field_with_base64_file():
    zipped = make_zip({"secret.txt": "exfiltrated text"})
    body = b"upload=" + base64.b64encode(zipped).replace(b"+", b"%2B").replace(b"/", b"%2F")
    r = decode(body, "application/x-www-form-urlencoded")
    assert texts(r) == {("form:upload", "base64", "zip:secret.txt"): "exfiltrated text"}


# -- JSON ------------------------------------------------------------------------------

def test_json_strings_with_paths():
    doc = {"user": {"name": "Bob \u00e9", "tags": ["a", "bb"], "id": 7}, "weird key": "v",
           "card": 4111111111111111, "ok": True, "n": None}
    r = decode(json.dumps(doc).encode(), "application/json")
    assert texts(r) == {
        ("json:$.user.name",): "Bob \u00e9", ("json:$.user.tags[0]",): "a",
        ("json:$.user.tags[1]",): "bb", ('json:$["weird key"]',): "v",
        ("json:$.card",): "4111111111111111"}
    assert part(r, ("json:$.user.name",)).name == "$.user.name"


def test_json_base64_text_file_and_data_url():
    text_b64 = base64.b64encode(b"password=hunter2 for the prod database").decode()
    gz_b64 = base64.urlsafe_b64encode(gzip.compress(b"gzipped secret text")).decode().rstrip("=")
    data_url = "data:text/plain;base64," + base64.b64encode(b"from a data url").decode()
    token = base64.b64encode(os.urandom(30)).decode()  # binary: stays a string
    png = base64.b64encode(PNG).decode()  # a file: a binary part, not megabytes of base64 text
    r = decode(json.dumps({"a": text_b64, "b": gz_b64, "c": data_url, "d": token, "e": png}).encode(),
               "application/json")
    assert texts(r) == {
        ("json:$.a", "base64"): "password=hunter2 for the prod database",
        ("json:$.b", "base64", "gzip"): "gzipped secret text",
        ("json:$.c", "base64"): "from a data url",
        ("json:$.d",): token,
        ("json:$.e", "base64"): ""}


def test_json_stringified_json_and_ndjson():
    inner = json.dumps({"ssn": "123-45-6789"})
    r = decode((json.dumps({"payload": inner}) + "\n" + json.dumps({"x": "second"})).encode(),
               "application/x-ndjson")
    assert texts(r) == {("json:$.payload", "json:$.ssn"): "123-45-6789", ("json:$.x",): "second"}


def test_json_sniffed_without_content_type():
    assert texts(decode(b'  {"k": "v"}', None)) == {("json:$.k",): "v"}


def test_text_that_starts_like_json_is_text():
    r = decode(b"[INFO] service started, key=abc", None)
    assert texts(r) == {(): "[INFO] service started, key=abc"} and r.events == []


def test_json_cut_short_keeps_values_so_far():
    body = json.dumps({"a": "first value", "b": ["x", "second value that is cut"]}).encode()
    r = decode(body[:-12], "application/json")
    assert texts(r)[("json:$.a",)] == "first value"
    assert "body.decode_error" in events(r)
    assert any("second value" in t for t in texts(r).values())  # the unparsed tail is text


def test_json_lone_surrogate_and_unbalanced_brackets():
    r = decode(b'{"a": "\\ud800 x", "b": ["y"}, "c": "after"}', "application/json")
    assert texts(r)[("json:$.a",)] == "? x"
    assert texts(r)[("json:$.b[0]",)] == "y"
    assert '"c": "after"' in texts(r)[("json-unparsed",)]
    assert "body.decode_error" in events(r)


def test_invalid_declared_json_is_still_scanned():
    r = decode(b"not json at all: 4111111111111111", "application/json")
    assert texts(r) == {(): "not json at all: 4111111111111111"}


def test_json_file_in_zip_is_one_text_part():
    r = decode(make_zip({"package.json": '{"name": "x"}'}), None)
    assert texts(r) == {("zip:package.json",): '{"name": "x"}'}


# -- zip -------------------------------------------------------------------------------

SOURCES = {"src/app.py": "import os\nAPI_KEY = 'abc'\n", "src/lib/util.js": "export const x = 1;\n",
           "README.md": "# Project\n"}


def test_zip_of_source_files():
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2):
        r = decode(make_zip(SOURCES, method), "application/zip", filename="src.zip")
        assert texts(r) == {(f"zip:{n}",): t for n, t in SOURCES.items()}, method
        assert [p.filename for p in r.parts] == list(SOURCES)
        assert r.events == []


def test_zip_directories_and_binary_members():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("dir/", "")
        z.writestr("dir/img.png", PNG)
    r = decode(buf.getvalue(), None)
    assert texts(r) == {("zip:dir/img.png",): ""}


def test_zip_cut_short_uses_local_headers():
    data = make_zip(SOURCES)
    cut = data[:data.index(b"PK\x01\x02")]  # central directory lost
    r = decode(cut, "application/zip")
    assert texts(r) == {(f"zip:{n}",): t for n, t in SOURCES.items()}
    assert "body.decode_error" in events(r)


def test_streamed_zip_with_data_descriptors_cut_short():
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.buf = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.buf += b
            return len(b)

    out = Unseekable()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in SOURCES.items():
            z.writestr(name, text)
    data = bytes(out.buf)
    assert data[6] & 8  # sizes are in data descriptors
    r = decode(data[:data.index(b"PK\x01\x02")], None)
    assert texts(r) == {(f"zip:{n}",): t for n, t in SOURCES.items()}


def test_zip_after_other_bytes():
    zipped = make_zip({"a.txt": "payload"})
    for prefix, ctype in ((b"#!/bin/sh\nexec self-extractor\n", "application/octet-stream"),
                          (b"\xff\xd8\xff\xe0" + bytes(300), "image/jpeg")):  # zip smuggled in a JPEG
        assert texts(decode(prefix + zipped, ctype)) == {("zip:a.txt",): "payload"}


def test_empty_zip_is_one_binary_part():
    empty = make_zip({})
    assert texts(decode(empty, None)) == {(): ""}


def test_encrypted_zip_member_is_named_but_not_read():
    data = bytearray(make_zip({"secret.txt": "x" * 100}, zipfile.ZIP_STORED))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # set the encryption flag in both headers
        at = data.index(sig)
        data[at + (6 if sig == b"PK\x03\x04" else 8)] |= 1
    r = decode(bytes(data), None)
    (p,) = r.parts
    assert (p.path, p.text, p.filename, p.truncated) == (("zip:secret.txt",), "", "secret.txt", True)
    assert "body.decode_error" in events(r)


# -- office ----------------------------------------------------------------------------

def test_docx():
    r = decode(make_docx(["Hello world", "Card 4111 1111 1111 1111 & <more>"], header="CONFIDENTIAL"),
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert texts(r) == {("docx:word/document.xml",): "Hello world\nCard 4111 1111 1111 1111 & <more>\n",
                        ("docx:word/header1.xml",): "CONFIDENTIAL\n"}


def test_xlsx_shared_strings_and_numbers():
    r = decode(make_xlsx([["name", "card"], ["bob", 4111111111111111], ["al & co", 3.5]]), None)
    assert texts(r) == {("xlsx:xl/worksheets/sheet1.xml",):
                        "name\tcard\nbob\t4111111111111111\nal & co\t3.5"}


def test_pptx_slides_in_order():
    r = decode(make_pptx([f"slide {i}" for i in range(1, 12)]), None)
    assert [p.text for p in r.parts] == [f"slide {i}\n" for i in range(1, 12)]


def test_odt_and_ods():
    for kind, ext in (("text", "odt"), ("spreadsheet", "ods")):
        r = decode(make_odf("odf text & more", kind), None)
        assert texts(r) == {(f"{ext}:content.xml",): "odf text & more\nsecond line\n"}


def test_docx_with_embedded_workbook():
    inner = make_xlsx([["embedded secret"]])
    docx = make_docx(["outer"])
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["word/embeddings/Microsoft_Excel_Worksheet.xlsx"] = inner
    r = decode(make_zip(members), None)
    assert texts(r)[("zip:word/embeddings/Microsoft_Excel_Worksheet.xlsx",
                     "xlsx:xl/worksheets/sheet1.xml")] == "embedded secret"


# -- tar and compressed files --------------------------------------------------------------

def test_tar_and_tar_gz():
    tar = make_tar({"etc/passwd": b"root:x:0:0\n", "bin/tool": b"\x7fELF" + bytes(100)})
    assert texts(decode(tar, None)) == {("tar:etc/passwd",): "root:x:0:0\n", ("tar:bin/tool",): ""}
    r = decode(gzip.compress(tar), "application/gzip", filename="backup.tgz")
    assert texts(r) == {("gzip", "tar:etc/passwd"): "root:x:0:0\n", ("gzip", "tar:bin/tool"): ""}


def test_gz_bz2_xz_uploads():
    text = b"compressed upload text"
    for data, step in ((gzip.compress(text), "gzip"), (bz2.compress(text), "bz2"),
                       (lzma.compress(text), "xz")):
        r = decode(data, "application/octet-stream", filename="notes.txt.x")
        assert texts(r) == {(step,): text.decode()}, step


def test_gz_file_name_comes_from_header():
    buf = io.BytesIO()
    with gzip.GzipFile("report.csv", "wb", fileobj=buf) as g:
        g.write(b"a,b\n1,2\n")
    (p,) = decode(buf.getvalue(), None).parts
    assert (p.path, p.filename, p.text) == (("gzip",), "report.csv", "a,b\n1,2\n")


# -- text --------------------------------------------------------------------------------

def test_utf16_with_and_without_bom():
    s = "Geheim: Kontonummer 1234"
    for data in ("\ufeff" + s).encode("utf-16-le"), ("\ufeff" + s).encode("utf-16-be"), \
            s.encode("utf-16-le"), s.encode("utf-16-be"):
        assert texts(decode(data, None)) == {(): s}


def test_charset_from_content_type():
    greek = "\u039a\u03b1\u03bb\u03b7"
    assert texts(decode(greek.encode("iso-8859-7"), "text/plain; charset=iso-8859-7")) == {(): greek}
    assert texts(decode("\u79d8\u5bc6".encode("shift_jis"), 'text/plain; charset="Shift_JIS"')) \
        == {(): "\u79d8\u5bc6"}
    assert texts(decode(b"plain", "text/plain; charset=rot13")) == {(): "plain"}  # not a text codec
    assert texts(decode(b"\x80 5", "text/plain; charset=windows-1252")) == {(): "\u20ac 5"}


def test_utf8_valid_ish_latin1_fallback_and_nuls():
    mostly_utf8 = "na\u00efve caf\u00e9 ".encode() * 20 + b"\xff"  # one stray byte: still UTF-8
    assert texts(decode(mostly_utf8, None))[()].startswith("na\u00efve caf\u00e9")
    assert texts(decode("caf\u00e9 cr\u00e8me".encode("latin-1"), None)) == {(): "caf\u00e9 cr\u00e8me"}
    assert texts(decode(b"abc\x00def", None)) == {(): "abcdef"}


def test_binary_parts_have_no_text():
    for data, ctype in ((PNG, "image/png"), (os.urandom(4096), None),
                        (os.urandom(4096), "application/octet-stream"),
                        (b"\xff\xd8\xff" + bytes(50), None)):
        (p,) = decode(data, ctype).parts
        assert p.text == "" and p.data == data


def test_magic_beats_declared_type():
    r = decode(make_zip({"a.txt": "hidden in a png"}), "image/png")
    assert texts(r) == {("zip:a.txt",): "hidden in a png"}
    r = decode(b"actually text", "image/png")
    assert texts(r) == {(): "actually text"}


def test_empty_body_has_no_parts():
    r = decode(b"", "text/plain")
    assert r.parts == [] and r.events == []
