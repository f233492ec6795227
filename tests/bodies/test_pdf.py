"""PDF text extraction from hand-written PDFs: the text operators, string syntaxes,
filters, ToUnicode CMaps, object streams, embedded files, and what is not text."""

from __future__ import annotations

import zlib

import pytest

from tests.bodies.builders import _pdf, _stream, make_pdf, make_pdf_cid, make_zip
from tests.bodies.helpers import decode, events, part


def pdf_text(data: bytes, ctype: str | None = "application/pdf") -> str:
    return part(decode(data, ctype), ("pdf",)).text


@pytest.mark.parametrize("flate", [True, False])
def test_text_operators(flate):
    content = (b"BT /F1 12 Tf 72 720 Td (Hello world) Tj 0 -14 Td "
               b"[(Con) 20 (fiden) -15 (tial) -400 (report)] TJ "
               b"(next line) ' 1 0 (with spacing) \" T* (after T*) Tj ET")
    assert pdf_text(make_pdf([content], flate=flate)) == \
        "Hello world\nConfidential report\nnext line\nwith spacing\nafter T* "


def test_string_syntax():
    content = (rb"BT /F1 9 Tf (paren \(x\) and \\ backslash) Tj T* "
               rb"(octal \101\102\103 nested (ok) done) Tj T* "
               rb"(line \
continued) Tj T* <4865 78 21> Tj T* <414> Tj ET")
    assert pdf_text(make_pdf([content])) == \
        "paren (x) and \\ backslash\noctal ABC nested (ok) done\nline continued\nHex!\nA@ "


def test_winansi_bytes():
    assert pdf_text(make_pdf([b"BT /F1 9 Tf (caf\xe9 \x80 5) Tj ET"])) == "caf\u00e9 \u20ac 5 "


def test_pages_in_order_and_sniffed_without_type():
    data = make_pdf([b"BT (page one) Tj ET", b"BT (page two) Tj ET"])
    assert pdf_text(data, None) == "page one \npage two "
    assert part(decode(data, None), ("pdf",)).content_type == "application/pdf"


def test_tounicode_cmap_identity_h():
    assert pdf_text(make_pdf_cid("Confidential: 123-45-6789")) == "Confidential: 123-45-6789 "


def test_tounicode_bfrange():
    cmap = (b"begincmap 1 begincodespacerange <00> <FF> endcodespacerange\n"
            b"2 beginbfrange <01> <1A> <0061> <20> <21> [<0020> <0021>] endbfrange endcmap")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
               b"<< /Type /Font /Subtype /TrueType /BaseFont /ABCDEF+Calibri /ToUnicode 6 0 R >>",
               b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /TT0 3 0 R >> >> /Contents 5 0 R >>",
               _stream(b"", b"BT /TT0 10 Tf <08050C0C0F20170F120C0421> Tj ET", True),
               _stream(b"", cmap, True)]
    assert pdf_text(_pdf(objects)) == "hello world! "


def test_font_dictionary_inside_object_stream():
    cmap = b"beginbfchar <01> <0053> <02> <0065> <03> <0063> endbfchar"
    font_objs = b"<< /Type /Font /Subtype /TrueType /ToUnicode 7 0 R >>"
    resources = b"<< /F9 9 0 R >>"
    header = b"9 0 8 %d " % len(font_objs)
    objstm = header + font_objs + resources
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
               _stream(b"/Type /ObjStm /N 2 /First %d" % len(header), objstm, True),
               b"<< /Type /Page /Parent 2 0 R /Resources << /Font 8 0 R >> /Contents 5 0 R >>",
               _stream(b"", b"BT /F9 10 Tf <010203010203> Tj ET", True),
               b"<< >>",
               _stream(b"", cmap, True)]
    assert pdf_text(_pdf(objects)) == "SecSec "


def test_ascii_filters():
    import base64
    content = b"BT (hex filtered) Tj ET"
    objects = [b"<< /Type /Catalog >>",
               b"<< /Filter /ASCIIHexDecode >>\nstream\n" + content.hex().encode() + b">\nendstream",
               b"<< /Filter [/ASCII85Decode /FlateDecode] >>\nstream\n"
               + base64.a85encode(zlib.compress(b"BT (a85 then flate) Tj ET")) + b"~>\nendstream"]
    assert pdf_text(_pdf(objects)) == "hex filtered \na85 then flate "


def test_images_fonts_and_metadata_are_not_text():
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    objects = [b"<< /Type /Catalog >>",
               _stream(b"/Type /XObject /Subtype /Image /Width 8 /Height 8 /Filter /DCTDecode", jpeg, False),
               _stream(b"/Length1 300", b"BT (font program bytes) Tj ET", True),
               _stream(b"", b"q 1 0 0 1 0 0 cm 0 0 m 10 10 l S Q", True),
               _stream(b"", b"BT (real text) Tj BI /W 4 /H 4 ID \x00\x01BT (no) Tj ET\x02 EI ET", True)]
    assert pdf_text(_pdf(objects)) == "real text "


def test_embedded_file_is_decoded():
    xlsx_like = make_zip({"secret.txt": "attached secret"})
    objects = [b"<< /Type /Catalog /Names << /EmbeddedFiles << /Names [(s.zip) 3 0 R] >> >> >>",
               _stream(b"/Type /EmbeddedFile", xlsx_like, True),
               b"<< /Type /Filespec /F (s.zip) /UF (s.zip) /EF << /F 2 0 R >> >>",
               _stream(b"", b"BT (body) Tj ET", True)]
    r = decode(_pdf(objects), "application/pdf")
    assert part(r, ("pdf:s.zip", "zip:secret.txt")).text == "attached secret"
    assert part(r, ("pdf",)).text == "body "


def test_encrypted_pdf_is_an_event():
    data = make_pdf([b"BT (x) Tj ET"]).replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt 9 0 R")
    r = decode(data, "application/pdf")
    assert part(r, ("pdf",)).text == "" and "body.decode_error" in events(r)


def test_truncated_pdf_keeps_complete_streams():
    data = make_pdf([b"BT (first page) Tj ET", b"BT (second page is cut off here) Tj ET"], flate=False)
    cut = data[:data.index(b"second page") + 6]
    assert pdf_text(cut).startswith("first page")


def test_pdf_with_junk_before_header():
    data = b"\r\n\r\n" + make_pdf([b"BT (after junk) Tj ET"])
    assert pdf_text(data, None) == "after junk "
