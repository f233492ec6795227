"""End to end with a real Squid 5 (squid-openssl) doing ssl_bump, in network namespaces:
curl -> Squid (client namespace, bumps TLS, calls `dlp icap` on loopback) -> HTTPS and HTTP
test servers (server namespace). A card upload over HTTPS is refused with our 403 page and
alerted with the proxy user; a clean upload reaches the server byte for byte; plain HTTP too.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys

import pytest

from tools.dlp_samples import cards, customers_json
from tools.netns import TestNet
from tools.squid_env import SquidEnv, stop, wait_listening
from tools.test_certs import make_ca, make_server_cert

ICAP_PORT, HTTPS_PORT, HTTP_PORT = 11344, 8443, 8080
RULES = "version: 1\ndetectors:\n  pan:\n    action: block\n  secret:\n    action: block\n"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


@pytest.fixture(scope="module")
def proxy_net(tmp_path_factory):
    """Servers, dlp icap and Squid, up once for the module's tests."""
    d = tmp_path_factory.mktemp("squid-e2e")
    (d / "files").mkdir()
    (d / "rules.yaml").write_text(RULES)
    ca = make_ca(str(d), "upstream test CA", "upstream-ca")
    cert, key = make_server_cert(str(d), ca, "10.213.7.1")
    with TestNet("dlp6q") as net:
        net.start_server([sys.executable, "-m", "tools.tls_test_server", str(HTTPS_PORT), cert, key,
                          str(d / "https.log")], HTTPS_PORT)
        net.start_server([sys.executable, "-m", "tools.http_test_server", str(HTTP_PORT), str(d / "files"),
                          str(d / "http.log")], HTTP_PORT)
        icap = subprocess.Popen(["ip", "netns", "exec", net.client_ns, sys.executable, "-m", "dlp", "icap",
                                 "--listen", f"127.0.0.1:{ICAP_PORT}", "--rules", str(d / "rules.yaml"),
                                 "--eve", str(d / "eve.json")], stderr=subprocess.PIPE)
        try:
            wait_listening(net.client_ns, ICAP_PORT, icap)
            with SquidEnv(net.client_ns, ICAP_PORT, trust=ca[0], users={"alice": "s3cret"}) as squid:
                yield net, squid, d
        finally:
            stop(icap)


def curl(net, squid, url: str, body_file, *extra: str) -> tuple[int, bytes]:
    result = net.run_client(["curl", "-sS", "--max-time", "20", "--proxy", f"http://127.0.0.1:{squid.port}",
                             "--proxy-user", "alice:s3cret", "--cacert", squid.ca_cert, "-H", "Content-Type: application/json",
                             "--data-binary", f"@{body_file}", "-w", "\n%{http_code}", *extra, url],
                            timeout=30)
    out, _, code = result.stdout.rpartition(b"\n")
    assert result.returncode == 0, result.stderr
    return int(code), out


def received(log_path) -> list[dict]:
    if not os.path.exists(log_path):
        return []
    return [json.loads(line) for line in open(log_path)]


def alerts(d) -> list[dict]:
    return [e for e in map(json.loads, open(d / "eve.json")) if e["event_type"] == "alert"]


def test_https_card_upload_is_blocked_and_alerted(proxy_net):
    net, squid, d = proxy_net
    numbers = cards(random.Random(6), 5)
    (d / "cards.json").write_bytes(customers_json(random.Random(6), numbers))
    code, page = curl(net, squid, f"https://10.213.7.1:{HTTPS_PORT}/upload", d / "cards.json")
    assert code == 403, page[:500]
    assert b"Incident id:" in page and b"payment card numbers" in page
    assert received(d / "https.log") == []  # the server never saw the upload
    [alert] = [a for a in alerts(d) if a["http"]["url"].endswith("/upload")]
    assert alert["alert"]["action"] == "blocked" and alert["alert"]["detector"] == "pan"
    assert alert["src_ip"] == "127.0.0.1" and alert["dest_ip"] == "10.213.7.1"
    assert alert["dest_port"] == HTTPS_PORT and alert["http"]["hostname"] == "10.213.7.1"
    assert alert["dlp"]["icap"]["user"] == "alice" and alert["dlp"]["icap"]["client_ip"] == "127.0.0.1"
    assert f"<b>{alert['flow_id']}</b>".encode() in page
    eve_text = open(d / "eve.json").read()
    assert not any(n in eve_text for n in numbers)


def test_https_clean_upload_passes_unchanged(proxy_net):
    net, squid, d = proxy_net
    body = os.urandom(300_000)  # bigger than the preview: 100 Continue, then 204
    (d / "clean.bin").write_bytes(body)
    code, answer = curl(net, squid, f"https://10.213.7.1:{HTTPS_PORT}/clean", d / "clean.bin")
    assert code == 200 and answer == b'{"ok": true}\n'
    [seen] = [r for r in received(d / "https.log") if r["path"] == "/clean"]
    assert seen["len"] == len(body) and seen["sha256"] == hashlib.sha256(body).hexdigest()


def test_plain_http_through_squid_blocks_and_passes(proxy_net):
    net, squid, d = proxy_net
    (d / "secret.json").write_bytes(customers_json(random.Random(7), cards(random.Random(7), 4)))
    code, page = curl(net, squid, f"http://10.213.7.1:{HTTP_PORT}/plain-cards", d / "secret.json")
    assert code == 403 and b"Incident id:" in page
    (d / "ok.json").write_bytes(b'{"note": "nothing to see"}')
    code, _ = curl(net, squid, f"http://10.213.7.1:{HTTP_PORT}/plain-ok", d / "ok.json")
    assert code == 200
    logged = received(d / "http.log")
    assert [r["path"] for r in logged] == ["/plain-ok"]
    assert logged[0]["sha256"] == hashlib.sha256(b'{"note": "nothing to see"}').hexdigest()
