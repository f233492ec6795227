"""Inputs for the body decoder tests, built with the standard library: office documents as
the zips they are, PDFs written object by object."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib
from email.charset import QP, Charset
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from xml.sax.saxutils import escape

from tools.dlp_samples import pdf_file


def make_zip(members: dict[str, bytes | str], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def make_tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_docx(paragraphs: list[str], header: str | None = None) -> bytes:
    # Word splits text into runs anywhere, even inside words: the first run is cut in two.
    body = "".join(
        f'<w:p><w:r><w:t>{escape(p[:3])}</w:t></w:r><w:r><w:rPr><w:b/></w:rPr>'
        f'<w:t xml:space="preserve">{escape(p[3:])}</w:t></w:r></w:p>' for p in paragraphs)
    members = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types/>',
        "_rels/.rels": "<Relationships/>",
        "word/document.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body>{body}</w:body></w:document>",
        "word/styles.xml": "<w:styles><w:style><w:name w:val='NotText'/></w:style></w:styles>",
    }
    if header:
        members["word/header1.xml"] = \
            f"<w:hdr><w:p><w:r><w:t>{escape(header)}</w:t></w:r></w:p></w:hdr>"
    return make_zip(members)


def make_xlsx(rows: list[list[str | int]]) -> bytes:
    shared: list[str] = []
    xml_rows = []
    for r, row in enumerate(rows, 1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if isinstance(value, str):
                shared.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{len(shared) - 1}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    sst = "".join(f"<si><t>{escape(s)}</t></si>" for s in shared)
    return make_zip({
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": "<workbook/>",
        "xl/sharedStrings.xml": f'<sst count="{len(shared)}">{sst}</sst>',
        "xl/worksheets/sheet1.xml":
            f'<worksheet><sheetData>{"".join(xml_rows)}</sheetData></worksheet>',
    })


def make_pptx(slides: list[str]) -> bytes:
    members = {"[Content_Types].xml": "<Types/>", "ppt/presentation.xml": "<p:presentation/>"}
    for i, text in enumerate(slides, 1):
        members[f"ppt/slides/slide{i}.xml"] = (
            f"<p:sld><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{escape(text)}</a:t></a:r></a:p>"
            "</p:txBody></p:sp></p:spTree></p:cSld></p:sld>")
    return make_zip(members)


def make_odf(text: str, kind: str = "text") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), f"application/vnd.oasis.opendocument.{kind}")
        z.writestr("content.xml", '<?xml version="1.0"?><office:document-content><office:body>'
                   f"<office:text><text:p>{escape(text)}</text:p><text:p>second<text:s/>line</text:p>"
                   "</office:text></office:body></office:document-content>", zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", "<manifest/>")
    return buf.getvalue()


def multipart(fields: list[tuple[str, bytes, str | None, str | None]], boundary="XyZb0undary",
              transfer: dict[str, str] | None = None) -> tuple[bytes, str]:
    """(body, content type) for multipart/form-data. fields: (name, data, filename, ctype)."""
    out = []
    for name, data, filename, ctype in fields:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"Content-Disposition: {disp}\r\n"
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        if transfer and name in transfer:
            head += f"Content-Transfer-Encoding: {transfer[name]}\r\n"
        out.append(f"--{boundary}\r\n{head}\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def email_multipart(text: str, attachment: bytes) -> tuple[bytes, str]:
    """(body, content type) of a multipart/mixed built by email.mime: the text part
    quoted-printable, the attachment base64."""
    qp = Charset("utf-8")
    qp.body_encoding = QP
    msg = MIMEMultipart("mixed", boundary="==mime-boundary==")
    msg.attach(MIMEText(text, "plain", qp))
    msg.attach(MIMEApplication(attachment, "zip", Name="n.zip"))
    _, _, body = msg.as_bytes().partition(b"\n\n")
    return body.replace(b"\n", b"\r\n"), msg["Content-Type"]


# -- PDF ----------------------------------------------------------------------------

def _pdf(objects: list[bytes]) -> bytes:
    return pdf_file(objects, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")


def _stream(dictionary: bytes, data: bytes, flate: bool) -> bytes:
    if flate:
        data = zlib.compress(data)
        dictionary += b" /Filter /FlateDecode"
    return b"<< %s /Length %d >>\nstream\n" % (dictionary, len(data)) + data + b"\nendstream"


def make_pdf(pages: list[bytes], flate: bool = True, extra: list[bytes] = ()) -> bytes:
    """Pages given as content-stream bytes, Helvetica (WinAnsi) as /F1."""
    n = len(pages)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    for i, content in enumerate(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i))
        objects.append(_stream(b"", content, flate))
    return _pdf(objects + list(extra))


def make_pdf_cid(text: str) -> bytes:
    """A PDF as browsers and office suites write it: a subset font whose glyph ids (2-byte
    codes in a hex string) only mean something through a ToUnicode CMap."""
    chars = sorted(set(text))
    gid = {ch: i + 1 for i, ch in enumerate(chars)}
    hexcodes = "".join(f"{gid[ch]:04X}" for ch in text).encode()
    bfchar = "".join(f"<{gid[ch]:04X}> <{ord(ch):04X}>\n" for ch in chars).encode()
    cmap = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
            b"%d beginbfchar\n%sendbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end"
            % (len(chars), bfchar))
    content = b"BT /F7 11 Tf 1 0 0 -1 72 720 Tm <%s> Tj ET" % hexcodes
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
               b"<< /Type /Font /Subtype /Type0 /BaseFont /AAAAAA+Arial /Encoding /Identity-H "
               b"/DescendantFonts [7 0 R] /ToUnicode 6 0 R >>",
               b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F7 3 0 R >> >> /Contents 5 0 R >>",
               _stream(b"", content, True),
               _stream(b"", cmap, True),
               b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /AAAAAA+Arial >>"]
    return _pdf(objects)


# -- bombs --------------------------------------------------------------------------

def deflate_zeros(mib: int) -> bytes:
    """Raw deflate of `mib` MiB of zeros, built without compressing them all: after a full
    flush the compressor forgets its history, so every MiB compresses to the same bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    c2 = zlib.compressobj(9, zlib.DEFLATED, -15)
    return block * mib + c2.flush(zlib.Z_FINISH)


def gzip_zeros(mib: int) -> bytes:
    """A gzip file of `mib` MiB of zeros (the CRC is left wrong: nobody gets that far)."""
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + deflate_zeros(mib) + b"\x00" * 4 + \
        ((mib << 20) & 0xFFFFFFFF).to_bytes(4, "little")


def raw_zip(name: str, data: bytes, usize: int, method: int = 8) -> bytes:
    """A one-member zip around already-compressed `data`, claiming `usize` bytes inside."""
    n = name.encode()
    local = b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", 20, 0, method, 0, 0, 0, len(data), usize,
                                        len(n), 0) + n
    central = b"PK\x01\x02" + struct.pack("<HHHHHHIIIHHHHHII", 20, 20, 0, method, 0, 0, 0, len(data),
                                          usize, len(n), 0, 0, 0, 0, 0, 0) + n
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    return local + data + central + end
