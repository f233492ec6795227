"""The ICAP service over real sockets: OPTIONS, 204 for clean bodies, 403 page with the
incident id for cards, alerts in the EVE contract, preview and 100-continue, echo when 204 is
not offered, RESPMOD, keep-alive, concurrency, body caps with fail-open/closed, hostile input,
too many connections, rules reload changing the ISTag."""

from __future__ import annotations

import concurrent.futures
import gzip
import re
import socket
import time

import pytest

from tests.icap.helpers import CARD_JSON, CLEAN_JSON, http_ok, http_post
from tools.icap_client import IcapClient

CARD_NUMBER = "4532015112830366"


def test_options_advertises_methods_preview_and_204(icap_server):
    srv = icap_server()
    with IcapClient("127.0.0.1", srv.port) as c:
        req, resp = c.options("reqmod"), c.options("respmod")
        missing = c.options("nothing")
    assert req.status == 200 and req.headers["methods"] == "REQMOD"
    assert resp.headers["methods"] == "RESPMOD"
    assert req.headers["preview"] == "1024" and req.headers["allow"] == "204"
    assert req.headers["transfer-preview"] == "*"
    assert re.fullmatch(r'"dlp-[0-9a-f]{24}"', req.headers["istag"])
    assert missing.status == 404


def test_clean_upload_gets_204_and_no_alert(icap_server):
    srv = icap_server()
    with IcapClient("127.0.0.1", srv.port) as c:
        answer = c.reqmod(http_post(CLEAN_JSON), CLEAN_JSON, preview=1024)
    assert answer.status == 204
    assert srv.events("alert") == []


def test_card_upload_is_blocked_with_a_page_naming_the_incident(icap_server):
    srv = icap_server()
    with IcapClient("127.0.0.1", srv.port, client_ip="10.1.2.3", user="CORP\\alice") as c:
        answer = c.reqmod(http_post(CARD_JSON, host="10.9.8.7", target="https://10.9.8.7:8443/up"),
                          CARD_JSON, preview=16)
    assert answer.continued and answer.status == 200 and answer.http_status == 403
    incident = answer.headers["x-dlp-incident"]
    assert f"Incident id: <b>{incident}</b>".encode() in answer.body
    assert b"payment card numbers" in answer.body
    [alert] = srv.events("alert")
    assert alert["alert"]["action"] == "blocked" and alert["alert"]["detector"] == "pan"
    assert str(alert["flow_id"]) == incident == alert["dlp"]["icap"]["incident_id"]
    assert alert["src_ip"] == "10.1.2.3" and alert["dest_ip"] == "10.9.8.7" and alert["dest_port"] == 8443
    assert alert["dlp"]["icap"]["client_ip"] == "10.1.2.3" and alert["dlp"]["icap"]["user"] == "CORP\\alice"
    assert alert["http"]["hostname"] == "10.9.8.7" and alert["http"]["http_method"] == "POST"
    assert alert["flow"]["bytes_toserver"] == len(CARD_JSON)
    text = open(srv.eve_path).read()
    assert CARD_NUMBER not in text and "453201******0366" in text


def test_alert_action_allows_and_alerts(icap_server):
    srv = icap_server()
    body = b"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEX\nAKIAZ3MSJV4WWNXAMPLQ\n"
    with IcapClient("127.0.0.1", srv.port) as c:
        answer = c.reqmod(http_post(body, ctype="text/plain"), body)
    alerts = srv.events("alert")
    assert answer.status == 204
    assert alerts and {a["alert"]["detector"] for a in alerts} == {"secret"}
    assert {a["alert"]["action"] for a in alerts} == {"allowed"}


def test_gzip_body_is_decoded_like_on_the_mirror(icap_server):
    srv = icap_server()
    body = gzip.compress(CARD_JSON)
    head = http_post(body).replace(b"Content-Length", b"Content-Encoding: gzip\r\nContent-Length")
    with IcapClient("127.0.0.1", srv.port) as c:
        answer = c.reqmod(head, body, preview=8)
    assert answer.http_status == 403


def test_without_allow_204_the_message_is_echoed_unchanged(icap_server):
    srv = icap_server()
    body = CLEAN_JSON * 50000  # over a MiB: the echo spool goes to disk
    with IcapClient("127.0.0.1", srv.port, allow_204=False) as c:
        answer = c.reqmod(http_post(body), body, preview=1024)
        again = c.reqmod(http_post(CARD_JSON), CARD_JSON, preview=1024)
    assert answer.status == 200 and answer.http_head == http_post(body) and answer.body == body
    assert again.http_status == 403


def test_respmod_download_is_not_inspected_by_upload_rules(icap_server):
    srv = icap_server()
    with IcapClient("127.0.0.1", srv.port) as c:
        early = c.respmod(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n", http_ok(CARD_JSON * 100), CARD_JSON * 100,
                          preview=64)
        whole = c.respmod(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n", http_ok(CARD_JSON), CARD_JSON)
    assert early.status == 204 and not early.continued  # decided on the preview
    assert whole.status == 204 and srv.events("alert") == []


def test_respmod_download_blocked_when_rules_inspect_downloads(icap_server):
    srv = icap_server(pan_direction="both")
    with IcapClient("127.0.0.1", srv.port, client_ip="10.5.5.5") as c:
        answer = c.respmod(b"GET http://files.example.com/export.json HTTP/1.1\r\nHost: files.example.com\r\n\r\n",
                           http_ok(CARD_JSON, "application/json"), CARD_JSON, preview=16)
    assert answer.continued and answer.http_status == 403
    [alert] = srv.events("alert")
    assert alert["direction"] == "to_client" and alert["http"]["direction"] == "download"
    assert alert["dest_ip"] == "10.5.5.5" and alert["dlp"]["icap"]["service"] == "respmod"
    assert alert["http"]["url"] == "http://files.example.com/export.json"


def test_keep_alive_and_concurrent_clients(icap_server):
    srv = icap_server()

    def client(i: int) -> list[int]:
        with IcapClient("127.0.0.1", srv.port, client_ip=f"10.0.0.{i}") as c:
            return [c.reqmod(http_post(b), b, preview=1024).http_status or 204
                    for b in (CLEAN_JSON, CARD_JSON, CLEAN_JSON * 100)]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(client, range(1, 33)))
    assert results == [[204, 403, 204]] * 32
    alerts = srv.events("alert")
    assert len(alerts) == 32 and len({a["src_ip"] for a in alerts}) == 32


def test_large_body_over_the_cap_fails_open(icap_server):
    srv = icap_server(fail_mode="open", max_body=64 * 1024)
    body = b"x" * 200_000 + CARD_JSON  # the cards lie past the cap
    with IcapClient("127.0.0.1", srv.port) as c:
        answer = c.reqmod(http_post(body, ctype="text/plain"), body, preview=1024)
    assert answer.status == 204
    [anomaly] = srv.events("anomaly")
    assert "http.body_limit" in anomaly["dlp"]["unscanned"] and anomaly["dlp"]["body_length"] == len(body)


def test_large_body_over_the_cap_fails_closed(icap_server):
    srv = icap_server(fail_mode="closed", max_body=64 * 1024)
    body = b"x" * 200_000
    with IcapClient("127.0.0.1", srv.port) as c:
        answer = c.reqmod(http_post(body, ctype="text/plain"), body, preview=1024)
        small = c.reqmod(http_post(CLEAN_JSON), CLEAN_JSON)
    assert answer.http_status == 403 and b"could not be fully inspected" in answer.body
    assert small.status == 204


@pytest.mark.parametrize("junk", [b"\x16\x03\x01\x02\x00" + bytes(300), b"GET / HTTP/1.1\r\n\r\n",
                                  b"REQMOD icap://x/reqmod ICAP/1.0\r\nEncapsulated: req-hdr=0, req-body=3\r\n\r\nabc"])
def test_hostile_input_gets_400_and_the_service_goes_on(icap_server, junk):
    srv = icap_server()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(junk)
        answer = s.recv(4096)
        assert answer.startswith(b"ICAP/1.0 400 ") and b"Connection: close" in answer
        assert s.recv(4096) == b""  # closed
    with IcapClient("127.0.0.1", srv.port) as c:
        assert c.reqmod(http_post(CARD_JSON), CARD_JSON).http_status == 403


def test_too_many_connections_get_503(icap_server):
    srv = icap_server(max_conn=2)
    held = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(2)]
    try:
        deadline = time.monotonic() + 10
        while srv.server.active < 2 and time.monotonic() < deadline:  # both accepted first
            time.sleep(0.02)
        with IcapClient("127.0.0.1", srv.port) as c:
            answer = c.options()
        assert answer.status == 503
    finally:
        for s in held:
            s.close()


def test_reload_changes_istag_and_actions(icap_server, tmp_path):
    srv = icap_server()
    with IcapClient("127.0.0.1", srv.port) as c:
        before = c.options().headers["istag"]
    with open(srv.server.rules_path, "w") as fh:
        fh.write("version: 1\ndetectors:\n  pan:\n    action: alert\n")
    assert srv.call(srv.server.reload)
    with IcapClient("127.0.0.1", srv.port) as c:
        after = c.options().headers["istag"]
        answer = c.reqmod(http_post(CARD_JSON), CARD_JSON)
    assert after != before and answer.status == 204
    assert srv.events("alert")[-1]["alert"]["action"] == "allowed"
    with open(srv.server.rules_path, "w") as fh:
        fh.write("version: 1\ndetectors:\n  pan:\n    action: maybe\n")
    assert not srv.call(srv.server.reload)  # rejected, rules kept
    with IcapClient("127.0.0.1", srv.port) as c:
        assert c.options().headers["istag"] == after


def test_stats_events_come_every_interval(tmp_path):
    from tests.icap.conftest import RunningServer

    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text("version: 1\nengine:\n  stats_interval: 1\ndetectors:\n  pan:\n    action: block\n")
    srv = RunningServer(str(rules_path), str(tmp_path / "eve.json"))
    try:
        with IcapClient("127.0.0.1", srv.port) as c:
            c.reqmod(http_post(CARD_JSON), CARD_JSON)
        deadline = time.monotonic() + 10
        while len(srv.events("stats")) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        stats = srv.events("stats")
    finally:
        srv.close()
    assert len(stats) >= 2
    assert stats[-1]["dlp"]["icap"]["blocked"] == 1 and stats[-1]["stats"]["detect"]["alert"] == 1
