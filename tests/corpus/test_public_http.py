"""Corpus suite, HTTP: the public HTTP captures through the parser, the body decoders and the
detectors. Expectations from ../shared/pcaps/public/MANIFEST.md (Suricata/Zeek results).
Parser-level cases (request smuggling, chunk extensions, CONNECT) are in tests/app/http."""

from __future__ import annotations

import os

import pytest

from dlp.app.dispatch import DetectionDispatcher
from dlp.capture.pcapfile import CaptureFile
from dlp.config import EngineConfig
from dlp.decode.decoder import Decoder
from dlp.flow.engine import FlowEngine
from dlp.rules import parse
from tests.corpus.test_public_pcaps import PUBLIC
from tests.helpers import Collect

pytestmark = pytest.mark.corpus


def transactions(name: str, extra_detectors=()):
    collector = Collect("http")
    findings = []
    dispatcher = DetectionDispatcher([collector, *extra_detectors], lambda flow, f, item: findings.append(f))
    engine, decoder = FlowEngine(EngineConfig(), dispatcher), Decoder()
    with CaptureFile(os.path.join(PUBLIC, name + ".pcap")) as cap:
        for ts, lt, frame, wirelen in cap:
            pkt = decoder.decode(lt, frame, wirelen, ts)
            if pkt is not None:
                engine.process(pkt)
    engine.shutdown()
    return collector.items, findings


def text(tx) -> str:
    return "\n".join(p.text for p in tx.parts)


def downloads(txs):
    return [t for t in txs if t.direction == 1]


def uploads(txs):
    return [t for t in txs if t.direction == 0]


EICAR_RULES = parse("""
version: 1
detectors:
  custom:
    rules:
      - id: 1
        name: eicar
        keywords: ["EICAR-STANDARD-ANTIVIRUS-TEST-FILE"]
        direction: both
""").build_detectors()

EVADER = sorted(f[:-5] for f in os.listdir(PUBLIC) if f.startswith("evader-"))


@pytest.mark.parametrize("name", EVADER)
def test_evader_variants_all_decode_to_eicar(name):
    txs, findings = transactions(name, EICAR_RULES)
    (tx,) = downloads(txs)
    assert "X5O!P%@AP[4" in text(tx) and "EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in text(tx)
    assert [f.signature for f in findings] == ["eicar"]
    assert tx.truncated == (name == "evader-099-eof-inside-chunk")


def test_eicar_upload_found_in_request_body():
    txs, findings = transactions("http-post-file-eicar", EICAR_RULES)
    assert any("EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in text(t) for t in uploads(txs))
    assert [f.direction for f in findings] == [0]


def test_body_labelled_gzip_but_plain_falls_back_to_raw():
    (tx,) = uploads(transactions("http-gzip-label-plain-body")[0])
    # the JSON is walked: string values (and long numbers) become parts; sdk_version is a
    # short number, so it is not a part of its own
    names = {p.name for p in tx.parts}
    assert "$.app_package" in names and "body.decode_error" in tx.anomalies


def test_gzip_request_body_decompressed():
    txs = transactions("http-post-gzip-request-body")[0]
    (tx,) = uploads(txs)
    assert [p.path for p in tx.parts] == [("gzip", "form:name")] and tx.uri == "/hi.php"
    assert all(p.name != "name" for t in downloads(txs) for p in t.parts)  # the response does not


def test_urlencoded_form_decoded():
    (tx,) = uploads(transactions("http-post-urlencoded")[0])
    assert any(p.name == "mail" and p.text == "test@oisf.net" for p in tx.parts)


def test_brotli_bodies_decoded():
    sizes = sorted(sum(len(p.data) for p in t.parts) for t in downloads(transactions("http-brotli-ce")[0]))
    assert 121 in sizes and 1743 in sizes


def test_gzip_download_exact_bytes():
    (tx,) = downloads(transactions("http-gzip-get")[0])
    # 165 bytes on the wire; the 197-byte JSON it inflates to is split into its values
    assert tx.body_length == 165 and all(p.path[0] == "gzip" for p in tx.parts)
    assert any(p.name == "$.headers.Host" for p in tx.parts) and "body.decode_error" not in tx.anomalies


def test_raw_deflate_without_zlib_header():
    txs = downloads(transactions("http-deflate-no-zlib-header")[0])
    assert len(txs) == 2 and all(sum(len(p.data) for p in t.parts) == 13249 for t in txs)


def test_multipart_upload_names_the_file():
    (tx,) = uploads(transactions("http-multipart-form-upload")[0])
    assert any(p.filename == "test.txt" for p in tx.parts) and tx.body_length == 767


def test_100_continue_then_chunked_response():
    txs = transactions("http-100-continue-post")[0]
    (up,) = uploads(txs)
    (down,) = downloads(txs)
    assert up.body_length == 2001 and down.body_length == 60731 and down.status == 200


def test_multiple_100_continue_one_transaction():
    txs = transactions("http-multiple-100-continue")[0]
    (up,) = uploads(txs)
    assert up.body_length >= 34293 and up.status is None
    assert [t.status for t in downloads(txs)] in ([], [200])


def test_absolute_uri_from_forward_proxy():
    (tx,) = downloads(transactions("http-forward-proxy")[0])
    assert tx.host == "bro.org" and tx.body_length == 15961


def test_pipelined_responses_pair_with_their_requests():
    txs = downloads(transactions("http-pipelined-requests")[0])
    assert len(txs) >= 4 and all(t.status == 200 for t in txs)
    css = [t for t in txs if t.uri.endswith(".css")]
    assert css and all((t.content_type or "").startswith("text/css") for t in css)


def test_gap_in_body_marks_only_that_body_truncated():
    txs = downloads(transactions("http-gap-in-body")[0])
    assert [t.uri for t in txs] == ["/1", "/2", "/3"]
    assert [t.truncated for t in txs] == [False, True, False]


def test_connect_tunnel_is_not_parsed_as_http():
    txs = transactions("http-connect-proxy-tls")[0]
    assert all(t.method in ("CONNECT", "") for t in txs)
