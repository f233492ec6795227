"""A small authoritative DNS responder for the benign and exfiltration captures: answers
every name from a few rules (the families in tools/covert_dns/benign.py), so ordinary
lookups get ordinary answers — NXDOMAIN for DNS blocklist misses, TXT for SPF/DKIM/DMARC,
SRV for service discovery, PTR for reverse lookups — without anything leaving the test
namespaces. Queries are read with the project's parser; answers are encoded here.

    python -m tools.covert_dns.responder --listen 127.0.0.1 --port 5300 --seconds 600

It stops by itself after --seconds (every capture script bounds its run).
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import struct
import time

from dlp.app.dns.message import DnsError, parse

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV = 1, 2, 5, 6, 12, 15, 16, 28, 33


def encode_name(name: bytes) -> bytes:
    out = b""
    for label in name.strip(b".").split(b"."):
        if label:
            out += bytes([len(label)]) + label
    return out + b"\0"


def _digest(name: bytes) -> bytes:
    return hashlib.sha256(name).digest()


def rdata_for(name: bytes, qtype: int) -> tuple[int, list[tuple[int, bytes]]]:
    """(rcode, [(type, rdata)]) for a question: deterministic per name, so replays agree."""
    h = _digest(name)
    if name.endswith((b".zen.dnsbl.example", b".bl.spamcop.net", b".zen.spamhaus.org",
                      b".b.barracudacentral.org", b".dnsbl.sorbs.net")):
        if h[0] < 25:  # a few listed addresses
            return 0, [(A, bytes([127, 0, 0, 2 + h[1] % 9]))] if qtype == A else [(TXT, b"\x10listed, see url")]
        return 3, []
    if name.endswith((b".in-addr.arpa", b".ip6.arpa")):
        if h[0] < 40:
            return 3, []
        return 0, [(PTR, encode_name(b"host-%d.corp.example" % (h[1] * 256 + h[2])))]
    if qtype == TXT:
        if name.startswith(b"_dmarc."):
            text = b"v=DMARC1; p=quarantine; rua=mailto:dmarc@" + name[7:]
        elif b"._domainkey." in name:
            text = b"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC" + h.hex().encode()[:40]
        elif name.endswith((b".hash.cymru.com", b".sophosxl.net", b".hbl.dq.spamhaus.net")):
            return (3, []) if h[0] < 200 else (0, [(TXT, b"\x101700000000 12")])
        else:
            text = b"v=spf1 include:_spf." + name + b" ~all"
        return 0, [(TXT, bytes([len(text[:255])]) + text[:255])]
    if qtype == SRV:
        if h[0] < 60:
            return 3, []
        target = encode_name(b"srv%d.corp.example" % (h[1] % 8))
        return 0, [(SRV, struct.pack("!HHH", 0, 100, 389 + h[2] % 5000) + target)]
    if qtype == MX:
        return 0, [(MX, struct.pack("!H", 10) + encode_name(b"mx1." + name))]
    if qtype == AAAA:
        return 0, [(AAAA, b"\x20\x01\x0d\xb8" + h[:12])]
    if qtype == A:
        if name.endswith((b".avqs.mcafee.com", b".avts.mcafee.com")):
            return 0, [(A, bytes([127, 0, h[0] % 4, 0]))]
        if h[0] < 90 and not name.startswith(b"www."):  # CDN-style CNAME then address
            target = b"e%d.a.cdn-edge.example" % (h[1] * 256 + h[2])
            return 0, [(CNAME, encode_name(target)), (A, bytes([192, 0, 2, h[3] % 254 + 1]))]
        return 0, [(A, bytes([198, 51, 100, h[3] % 254 + 1]))]
    return 0, []


def answer(query: bytes) -> bytes | None:
    try:
        msg = parse(query)
    except DnsError:
        return None
    if msg.response or not msg.questions:
        return None
    q = msg.questions[0]
    rcode, records = rdata_for(q.name, q.qtype)
    # the question is echoed from the wire; answers point back at it (offset 12)
    qend = 12 + len(encode_name(q.name)) + 4
    body = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", t, 1, 300, len(r)) + r for t, r in records)
    flags = 0x8400 | (msg.flags & 0x0100) | rcode  # QR, AA, RD copied
    header = struct.pack("!HHHHHH", msg.id, flags, 1, len(records), 0, 0)
    return header + query[12:qend] + body


def serve(listen: str, port: int, seconds: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((listen, port))
    sock.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data, peer = sock.recvfrom(4096)
        except socket.timeout:
            continue
        reply = answer(data)
        if reply is not None:
            sock.sendto(reply, peer)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5300)
    ap.add_argument("--seconds", type=float, default=600)
    args = ap.parse_args()
    serve(args.listen, args.port, args.seconds)


if __name__ == "__main__":
    main()
