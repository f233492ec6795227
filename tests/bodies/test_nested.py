"""Formats inside formats: the path records the whole chain."""

from __future__ import annotations

import base64
import gzip
import json

import brotli

from tests.bodies.builders import make_docx, make_pdf, make_tar, make_zip, multipart
from tests.bodies.helpers import decode, part, texts


def test_gzip_multipart_zip_docx():
    docx = make_docx(["Quarterly numbers: 4111 1111 1111 1111"])
    zipped = make_zip({"report.docx": docx, "notes.txt": "plain note"})
    body, ctype = multipart([("desc", b"weekly upload", None, None),
                             ("upload", zipped, "bundle.zip", "application/zip")])
    r = decode(gzip.compress(body), ctype, ["gzip"])
    assert texts(r) == {
        ("gzip", "multipart:desc"): "weekly upload",
        ("gzip", "multipart:upload", "zip:report.docx", "docx:word/document.xml"):
            "Quarterly numbers: 4111 1111 1111 1111\n",
        ("gzip", "multipart:upload", "zip:notes.txt"): "plain note",
    }
    assert r.events == []
    doc = part(r, ("gzip", "multipart:upload", "zip:report.docx", "docx:word/document.xml"))
    assert doc.name == "upload"


def test_json_with_base64_zip_of_python_files():
    sources = {"pkg/__init__.py": "", "pkg/core.py": "SECRET = 'x'\n", "pkg/cli.py": "import sys\n"}
    payload = {"repo": "internal", "archive": base64.b64encode(make_zip(sources)).decode()}
    r = decode(json.dumps(payload).encode(), "application/json")
    got = {p.path: (p.filename, p.text) for p in r.parts}
    assert got == {
        ("json:$.repo",): (None, "internal"),
        ("json:$.archive", "base64", "zip:pkg/__init__.py"): ("pkg/__init__.py", ""),
        ("json:$.archive", "base64", "zip:pkg/core.py"): ("pkg/core.py", "SECRET = 'x'\n"),
        ("json:$.archive", "base64", "zip:pkg/cli.py"): ("pkg/cli.py", "import sys\n"),
    }


def test_brotli_form_with_base64_pdf_data_url():
    pdf = make_pdf([b"BT (signed contract) Tj ET"])
    form = b"doc=" + ("data:application/pdf;base64," + base64.b64encode(pdf).decode()) \
        .replace("+", "%2B").replace("/", "%2F").encode()
    r = decode(brotli.compress(form), "application/x-www-form-urlencoded", ["br"])
    assert texts(r) == {("br", "form:doc", "base64", "pdf"): "signed contract "}


def test_tar_gz_inside_zip():
    tgz = gzip.compress(make_tar({"db/dump.sql": b"INSERT INTO cards VALUES ('4111');"}))
    r = decode(make_zip({"backup.tar.gz": tgz}), None)
    (p,) = r.parts
    assert p.path == ("zip:backup.tar.gz", "gzip", "tar:db/dump.sql")
    assert p.text == "INSERT INTO cards VALUES ('4111');" and p.filename == "db/dump.sql"
