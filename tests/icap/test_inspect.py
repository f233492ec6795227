"""Who an ICAP alert names: client from X-Client-IP, server from the target or Host (an
address only when it is one; X-Server-IP next; never a name lookup), user from
X-Authenticated-User."""

from __future__ import annotations

import pytest

from dlp.app.http.events import RequestHead
from dlp.decode.packet import ip_text
from dlp.icap.events import IcapRequest
from dlp.icap.inspect import _flow_for, _user_name


def request(target: str, host: str | None = None, **icap_headers) -> IcapRequest:
    headers = ((("host", host),) if host else ()) + (("content-type", "text/plain"),)
    head = RequestHead("POST", target, "HTTP/1.1", headers)
    return IcapRequest("REQMOD", "icap://p/reqmod", tuple((k.replace("_", "-"), v) for k, v in icap_headers.items()),
                       req_head=head, has_body=True)


@pytest.mark.parametrize("req, client, server, port", [
    (request("https://10.9.8.7:8443/up", x_client_ip="10.1.2.3"), "10.1.2.3", "10.9.8.7", 8443),
    (request("/up", host="192.0.2.80", x_client_ip="10.1.2.3"), "10.1.2.3", "192.0.2.80", 80),
    (request("https://files.example.com/up", x_client_ip="10.1.2.3", x_server_ip="203.0.113.5"),
     "10.1.2.3", "203.0.113.5", 443),
    (request("http://files.example.com/up", x_client_ip="10.1.2.3"), "10.1.2.3", "0.0.0.0", 80),
    (request("https://[2001:db8::7]:9443/up", x_client_ip="2001:db8::1"), "2001:db8::1", "2001:db8::7", 9443),
    (request("https://files.example.com/up", x_client_ip="2001:db8::1"), "2001:db8::1", "::", 443),
    (request("https://files.example.com/up", x_client_ip="not an address"), "0.0.0.0", "0.0.0.0", 443),
    (request("http://[broken/up", x_client_ip="10.1.2.3"), "10.1.2.3", "0.0.0.0", 80),
])
def test_flow_sides(req, client, server, port):
    flow = _flow_for(req)
    assert (ip_text(flow.cli), ip_text(flow.srv), flow.sport, flow.cport) == (client, server, port, 0)


def test_flow_ids_are_unique_per_transaction():
    req = request("/up", host="192.0.2.80", x_client_ip="10.1.2.3")
    assert len({_flow_for(req).flow_id for _ in range(100)}) == 100


def test_user_names():
    assert _user_name("YWxpY2U=") == "alice"
    assert _user_name("CORP\\bob") == "CORP\\bob"  # not base64: as sent
    assert _user_name("AAEC") == "AAEC"  # base64 of bytes that are no text: as sent
    assert len(_user_name("x" * 1000)) == 256


def test_content_rules_see_icap_bodies_across_pieces_and_can_block():
    """Raw-stream detectors (content rules) run on ICAP bodies as on the mirror's streams,
    matching across the pieces the proxy sends; the detector's action decides."""
    from dlp import rules
    from dlp.icap.inspect import IcapInspector

    class Sink:
        def __init__(self):
            self.events = []

        def write(self, event, flush=False):
            self.events.append(event)

    ruleset = rules.parse("""version: 1
detectors:
  content:
    action: block
    rules:
      - {id: 1000777, name: marker, patterns: ["PROJECT-NIGHTJAR"]}
""", "r.yaml")
    sink = Sink()
    inspector = IcapInspector(ruleset, sink)
    req = request("/up", host="192.0.2.80", x_client_ip="10.1.2.3")
    assert inspector.wants_body(req)  # no http detector, yet the body is wanted
    txn = inspector.begin(req)
    for piece in (b"notes: PROJECT-NI", b"GHTJAR roadmap\n"):
        txn.body(piece)
    verdict = txn.finish()
    assert verdict.block
    alerts = [e for e in sink.events if e["event_type"] == "alert"]
    assert [a["alert"]["signature_id"] for a in alerts] == [1000777]
    assert alerts[0]["alert"]["action"] == "blocked" and alerts[0]["src_ip"] == "10.1.2.3"
    clean = inspector.begin(req)
    clean.body(b"nothing to see")
    assert not clean.finish().block
