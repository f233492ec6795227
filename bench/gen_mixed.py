"""Synthesise benchmark captures (Ethernet/IPv4), deterministic for a given seed.

    python -m bench.gen_mixed OUT.pcap --size-mb 200 [--seed 1] [--flows 64]
    python -m bench.gen_mixed OUT.pcap --concurrent-flows 100000 [--seed 1]

Mixed mode: about 70% of the bytes are TLS 1.3-like sessions on 443 (real hellos, then
0x17 0x03 0x03 records of random bytes), the rest plaintext HTTP/1.1 keep-alive downloads
(GET, Content-Length, text bodies), uploads (POST form/JSON bodies, some with 16-digit card
numbers) and DNS over UDP. `--flows` TCP sessions run interleaved at all times; each has a
handshake, MSS-1448 segments acked every 2 segments, and a FIN teardown; a new session starts
when one ends. Once the size is reached, sessions finish their current response and close.

Concurrent mode: N sessions each do a handshake and one small GET, all stay open; then every
server answers (no FIN anywhere). The whole capture spans a few seconds of packet time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import time

from tools.pcapgen import (PROTO_UDP, PcapWriter, TcpConversation, dns_query, dns_response, ether,
                           ipv4, tls_client_hello, tls_record, tls_server_hello, udp, ETH_IPV4)

MSS = 1448
T0 = 1_700_000_000.0
LINE_RATE = 600e6  # bits/s of packet time, so timestamps look like a busy SPAN port
ROUTER_MAC = "02:00:00:00:00:fe"
DNS_MAC = "02:00:00:00:00:35"
SHARES = {"tls": 0.70, "http_get": 0.20, "http_post": 0.08}  # the rest is DNS
DNS_SHARE = 0.02
WORDS = ("the of and to in is for on that with as by this from are at be or an it not have "
         "report quarterly revenue customer account invoice payment order shipping delivery "
         "product service support contact privacy policy terms news article update release "
         "network security server client data record public private internal project team "
         "meeting schedule budget forecast review summary analysis market sales growth").split()
DOMAINS = [f"{a}.{b}.{c}" for a in ("www", "api", "cdn", "static", "mail", "img")
           for b in ("example", "contoso", "fabrikam", "northwind", "acme", "initech", "globex")
           for c in ("com", "net", "org", "test")]
MiB = 1 << 20


class Pools:
    """Pre-generated payload bytes; slicing them is cheap, calling random per byte is not."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.noise = rng.randbytes(8 * MiB)
        self.text = self._html(rng, 2 * MiB)

    @staticmethod
    def _html(rng, size) -> bytes:
        parts, n = [], 0
        while n < size:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
            tag = rng.choice(("p", "li", "div", "span", "h2", "td"))
            part = f'<{tag} class="c{rng.randint(1, 99)}">{words.capitalize()}.</{tag}>\n'
            parts.append(part)
            n += len(part)
        return "".join(parts).encode()

    def random(self, n: int) -> bytes:
        o = self.rng.randrange(len(self.noise) - n)
        return self.noise[o:o + n]

    def html(self, n: int) -> bytes:
        head, tail = b"<!DOCTYPE html>\n<html><head><title>page</title></head><body>\n", b"</body></html>\n"
        n = max(n - len(head) - len(tail), 0)
        o = self.rng.randrange(len(self.text) - n)
        return head + self.text[o:o + n] + tail


def log_uniform(rng, lo, hi) -> int:
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def luhn_number(rng, prefix="4") -> str:
    digits = prefix + "".join(str(rng.randrange(10)) for _ in range(15 - len(prefix)))
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return digits + str((10 - total % 10) % 10)


def chunks(pieces, size):
    """Re-cut an iterable of byte strings into (chunk, is_last) pieces of `size` bytes."""
    buf = b""
    for p in pieces:
        buf = buf + p if buf else p
        o = 0
        while len(buf) - o > size:
            yield buf[o:o + size], False
            o += size
        buf = buf[o:]
    if buf:
        yield buf, True


class Mix:
    """Shared state of one generation run: rng, pools, addresses, drain flag."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.pools = Pools(self.rng)
        self.draining = False
        self.port = 32768
        self.clients = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(1000)]
        self.tls_servers = [f"198.51.100.{i}" for i in range(1, 255)] + [f"203.0.113.{i}" for i in range(1, 255)]
        self.http_servers = [f"192.0.2.{i}" for i in range(1, 255)]

    def conv(self, server, port) -> TcpConversation:
        rng = self.rng
        self.port = self.port + 1 if self.port < 60999 else 32768
        cip = rng.choice(self.clients)
        a, b = cip.split(".")[2:]
        return TcpConversation((cip, self.port), (server, port), mss=MSS, ack_every=2, rng=rng,
                               client_mac=f"02:00:0a:01:{int(a):02x}:{int(b):02x}", server_mac=ROUTER_MAC)

    def send(self, conv, direction, pieces):
        """Bursts of 2 segments + the peer's ACK for a message given as byte pieces."""
        for chunk, last in chunks(pieces, 2 * MSS):
            yield conv.send(direction, chunk, push=last)

    # --- session kinds: each returns (planned payload bytes, generator of frame bursts) ---

    def tls_flow(self):
        rng, pools = self.rng, self.pools
        total = log_uniform(rng, 2_000, 4 * MiB)
        upload = rng.random() < 0.15
        rounds = rng.randint(1, 8)
        return total, self._tls(rng, pools, total, upload, rounds)

    def _tls(self, rng, pools, total, upload, rounds):
        conv = self.conv(rng.choice(self.tls_servers), 443)
        yield conv.handshake()
        yield from self.send(conv, 0, [tls_client_hello(rng.choice(DOMAINS), rng)])
        yield from self.send(conv, 1, [tls_server_hello(rng), tls_record(23, pools.random(rng.randint(2000, 5000)))])
        yield from self.send(conv, 0, [tls_record(20, b"\x01"), tls_record(23, pools.random(rng.randint(40, 90)))])
        for _ in range(rounds):
            if self.draining:
                break
            big = self._records(total // rounds)
            small = self._records(rng.randint(100, 1200))
            yield from self.send(conv, 0, big if upload else small)
            yield from self.send(conv, 1, small if upload else big)
        yield conv.close(rng.choice(("client", "server")))

    def _records(self, n):
        """Application-data records (type 0x17) totalling about n bytes; stops early when draining."""
        while n > 0 and not self.draining:
            body = min(n, 16401)
            yield tls_record(23, self.pools.random(body))
            n -= body + 5

    def http_get_flow(self):
        rng = self.rng
        sizes = [log_uniform(rng, 500, 2 * MiB) for _ in range(rng.randint(1, 4))]
        return sum(sizes), self._get(rng, sizes)

    def _get(self, rng, sizes):
        host = rng.choice(DOMAINS)
        conv = self.conv(rng.choice(self.http_servers), 80)
        yield conv.handshake()
        for size in sizes:
            ext = rng.choice((".html", "/", ".css", ".json"))
            path = "/" + "/".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))) + ext
            req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
                   "Accept: text/html,*/*;q=0.8\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n")
            yield from self.send(conv, 0, [req.encode()])
            ctype = {".css": "text/css", ".json": "application/json"}.get(ext, "text/html; charset=utf-8")
            body = self.pools.html(size)
            head = (f"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n")
            yield from self.send(conv, 1, [head.encode(), body])
            if self.draining:
                break
        yield conv.close(rng.choice(("client", "server")))

    def http_post_flow(self):
        rng = self.rng
        sizes = [log_uniform(rng, 100, 64 * 1024) for _ in range(rng.randint(1, 5))]
        return sum(sizes), self._post(rng, sizes)

    def _post_body(self, rng, size):
        words = lambda k: " ".join(rng.choice(WORDS) for _ in range(k))
        card = luhn_number(rng) if rng.random() < 0.3 else None
        ref = "".join(str(rng.randrange(10)) for _ in range(16)) if rng.random() < 0.2 else None
        if rng.random() < 0.5:
            fields = {"name": words(2), "email": f"{rng.choice(WORDS)}@{rng.choice(DOMAINS)}"}
            if card:
                fields["card_number"] = card
            if ref:
                fields["order_ref"] = ref
            fields["comment"] = words(max(1, size // 6))
            return "application/x-www-form-urlencoded", "&".join(f"{k}={v.replace(' ', '+').replace('@', '%40')}"
                                                                 for k, v in fields.items()).encode()
        doc = {"user": words(1), "items": [{"sku": rng.randrange(10**6), "qty": rng.randint(1, 9)}
                                           for _ in range(rng.randint(1, 5))]}
        if card:
            doc["payment"] = {"card": card, "exp": f"{rng.randint(1, 12):02d}/{rng.randint(26, 31)}"}
        if ref:
            doc["reference"] = ref
        doc["note"] = words(max(1, size // 6))
        return "application/json", json.dumps(doc).encode()

    def _post(self, rng, sizes):
        host = rng.choice(DOMAINS)
        conv = self.conv(rng.choice(self.http_servers), 80)
        yield conv.handshake()
        for size in sizes:
            ctype, body = self._post_body(rng, size)
            path = rng.choice(("/api/orders", "/submit", "/upload", "/form/contact", "/api/v2/checkout"))
            head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: python-requests/2.31\r\n"
                    f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n")
            yield from self.send(conv, 0, [head.encode(), body])
            reply = b'{"status":"ok","id":%d}' % rng.randrange(10**9)
            yield from self.send(conv, 1, [b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                                           b"Content-Length: %d\r\n\r\n%s" % (len(reply), reply)])
            if self.draining:
                break
        yield conv.close("client")

    def dns_exchange(self):
        """A query and its response as two Ethernet frames."""
        rng = self.rng
        cip = rng.choice(self.clients)
        sport, qid, name = rng.randint(1024, 65535), rng.getrandbits(16), rng.choice(DOMAINS)
        qtype = rng.choice(("A", "A", "A", "AAAA"))
        ans = ([f"198.51.100.{rng.randint(1, 254)}" for _ in range(rng.randint(1, 3))] if qtype == "A"
               else [f"2001:db8::{rng.randint(1, 0xffff):x}"])
        q = ipv4(cip, "10.0.0.53", PROTO_UDP, udp(sport, 53, dns_query(name, qtype, qid)), ident=qid)
        r = ipv4("10.0.0.53", cip, PROTO_UDP, udp(53, sport, dns_response(name, qtype, qid, ans)), ident=qid ^ 1)
        return [ether(ROUTER_MAC, DNS_MAC, ETH_IPV4, q), ether(DNS_MAC, ROUTER_MAC, ETH_IPV4, r)]


def generate_mixed(path, size_mb=200, seed=1, flows=64) -> dict:
    """Write the mixed capture; returns counts."""
    mix = Mix(seed)
    rng = mix.rng
    target = int(size_mb * MiB)
    written = dict.fromkeys(list(SHARES) + ["dns"], 0)
    kinds = {"tls": mix.tls_flow, "http_get": mix.http_get_flow, "http_post": mix.http_post_flow}
    n_flows = 0

    def new_flow():
        nonlocal n_flows
        total = sum(written.values())  # feedback on bytes written so far, noise breaks ties
        kind = max(SHARES, key=lambda k: SHARES[k] * total - written[k] + rng.random())
        size, gen = kinds[kind]()
        n_flows += 1
        return [kind, gen, size, 0]  # kind, bursts, planned bytes, written bytes

    clock = T0
    with PcapWriter(path) as w:
        active = [new_flow() for _ in range(flows)]
        while active:
            # of two random sessions advance the one with more left: elephants go faster
            i, j = rng.randrange(len(active)), rng.randrange(len(active))
            if active[j][2] - active[j][3] > active[i][2] - active[i][3]:
                i = j
            flow = active[i]
            kind, gen = flow[0], flow[1]
            burst = next(gen, None)
            if burst is None:
                if mix.draining:
                    active[i] = active[-1]
                    active.pop()
                else:
                    active[i] = new_flow()
                continue
            before = w.bytes_written
            for _ts, frame in burst:
                clock += (len(frame) + 24) * 8 / LINE_RATE
                w.write(clock, frame)
            written[kind] += w.bytes_written - before
            flow[3] += w.bytes_written - before
            while written["dns"] < DNS_SHARE * w.bytes_written:
                before = w.bytes_written
                for frame in mix.dns_exchange():
                    clock += (len(frame) + 24) * 8 / LINE_RATE
                    w.write(clock, frame)
                written["dns"] += w.bytes_written - before
            if w.bytes_written >= target:
                mix.draining = True
        total = w.bytes_written
        return {"bytes": total, "packets": w.packets, "tcp_flows": n_flows,
                "shares": {k: round(v / total, 3) for k, v in written.items()}}


def generate_concurrent(path, n_flows=100_000, seed=1, batch=256) -> dict:
    """Write the many-open-flows capture; returns counts."""
    rng = random.Random(seed)
    clock = T0
    convs = []
    with PcapWriter(path) as w:
        def emit(bursts):
            nonlocal clock
            for group in itertools.zip_longest(*bursts):
                for pkt in group:
                    if pkt is not None:
                        clock += (len(pkt[1]) + 24) * 8 / LINE_RATE
                        w.write(clock, pkt[1])

        for start in range(0, n_flows, batch):  # phase 1: open everything, batch by batch
            bursts = []
            for i in range(start, min(start + batch, n_flows)):
                cip = f"10.{128 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"
                conv = TcpConversation((cip, rng.randint(1024, 65535)), (f"198.18.{i % 64}.1", 80), mss=MSS,
                                       ack_every=2, rng=rng, server_mac=ROUTER_MAC)
                req = f"GET /item/{i} HTTP/1.1\r\nHost: svc{i % 64}.example.com\r\nAccept: */*\r\n\r\n".encode()
                bursts.append(conv.handshake() + conv.client_send(req))
                convs.append(conv)
            emit(bursts)
        order = list(range(n_flows))
        rng.shuffle(order)
        for start in range(0, n_flows, batch):  # phase 2: every server answers; nobody closes
            bursts = []
            for i in order[start:start + batch]:
                body = b"x" * rng.randint(100, 400)
                bursts.append(convs[i].server_send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body)))
            emit(bursts)
        return {"bytes": w.bytes_written, "packets": w.packets, "tcp_flows": n_flows,
                "span_seconds": round(clock - T0, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size-mb", type=float, default=200, help="minimum size in MiB (mixed mode)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--flows", type=int, default=64, help="concurrent TCP sessions (mixed mode)")
    ap.add_argument("--concurrent-flows", type=int, default=0, metavar="N",
                    help="write the N-open-flows capture instead of the mixed one")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    if args.concurrent_flows:
        info = generate_concurrent(args.out, args.concurrent_flows, args.seed)
    else:
        info = generate_mixed(args.out, args.size_mb, args.seed, args.flows)
    info["seconds"] = round(time.perf_counter() - t, 2)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
