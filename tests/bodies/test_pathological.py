"""Inputs built to make a parser quadratic or deep: every one finishes well inside the time
budget on its own (the budget is raised here so it cannot hide a slow parser)."""

from __future__ import annotations

import time

import pytest

from tests.bodies.builders import _pdf, _stream, make_pdf, make_zip
from tests.bodies.helpers import decode, events

N = 200_000
CASES = {
    "pdf content: one long number": (make_pdf([b"BT " + b"1" * N + b" Tj ET"]), None),
    "pdf content: many numbers": (make_pdf([b"BT " + b"1 " * N + b" ET"]), None),
    "pdf content: open parens": (make_pdf([b"BT " + b"(" * N + b" Tj ET"]), None),
    "pdf content: open hex": (make_pdf([b"BT " + b"<" * N + b" Tj ET"]), None),
    "pdf content: open arrays": (make_pdf([b"BT " + b"[" * N + b" TJ ET"]), None),
    "pdf file: digits": (b"%PDF-1.4\n" + b"7" * N, None),
    "pdf file: number pairs": (b"%PDF-1.4\n" + b"1 " * N, None),
    "pdf: repeated /EF": (_pdf([b"<< " + b"/EF " * (N // 4) + b">>"]), None),
    "pdf: repeated /Filter [": (_pdf([_stream(b"/Filter [" * (N // 9), b"BT (x) Tj ET", False)]), None),
    "pdf: cmap open arrays": (_pdf([b"<< /Type /Font /ToUnicode 2 0 R >>",
                                    _stream(b"", b"beginbfrange " + b"<01> <02> [" * (N // 12), False)]),
                              None),
    "xlsx: repeated t=s": (make_zip({"xl/workbook.xml": "<w/>",
                                     "xl/worksheets/sheet1.xml": "<row><c " + 't="s"' * (N // 5)}), None),
    "xlsx: empty cells": (make_zip({"xl/workbook.xml": "<w/>",
                                    "xl/worksheets/sheet1.xml": "<row>" + "<c/>" * N + "</row>x"}), None),
    "xlsx: open phonetic": (make_zip({"xl/workbook.xml": "<w/>", "xl/sharedStrings.xml": "<si><rPh" * (N // 8),
                                      "xl/worksheets/sheet1.xml": "<row/>"}), None),
    "docx: open tags": (make_zip({"word/document.xml": "<" * N}), None),
    "json: unterminated string": (b'{"a": "' + b"x" * N, "application/json"),
    "json: deep nesting": (b"[" * N, "application/json"),
    "json: escapes": (b'["' + b"\\\\" * N, "application/json"),
    "multipart: empty parts": (b"--b\r\n" * N, "multipart/form-data; boundary=b"),
    "form: empty fields": (b"a=1" + b"&" * N, "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_linear(name):
    data, ctype = CASES[name]
    start = time.monotonic()
    r = decode(data, ctype, max_seconds=60)
    assert time.monotonic() - start < 3.0
    assert "body.limit_time" not in events(r)
