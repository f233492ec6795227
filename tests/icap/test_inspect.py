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
