"""Synthesise pcap files for tests and benchmarks (standard library only).

Build frames inside-out and nest the calls; every builder returns bytes:

    seg = tcp(40000, 80, seq=1, ack=0, flags="S")
    pkt = ipv4("10.0.0.1", "10.0.0.2", PROTO_TCP, seg)     # fills in the TCP checksum
    frame = ether(CLIENT_MAC, SERVER_MAC, ETH_IPV4, pkt, vlans=[100])
    with PcapWriter("out.pcap") as w:
        w.write(1700000000.0, frame)

tcp()/udp()/icmpv6_echo() return an `L4` (a bytes subclass) whose checksum is filled in
by ipv4()/ipv6() from the pseudo-header; pass bad_csum=True to leave it zero.
`TcpConversation` produces whole TCP sessions as (ts, frame) lists that a test can reorder,
drop, duplicate or truncate before writing. Addresses are text ("10.0.0.1", "2001:db8::1",
"02:00:00:00:00:01") or already-packed bytes.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import random
import struct

__all__ = [
    "PcapWriter", "write_pcap", "checksum",
    "ether", "vlan", "vlan_tpid", "mpls", "gre", "erspan2", "erspan3", "vxlan",
    "ipv4", "ipv6", "ip", "ipv6_frag_header", "ipv6_opts_header", "fragment_ipv4", "fragment_ipv6",
    "tcp", "tcp_flags", "tcp_options", "udp", "icmp_echo", "icmpv6_echo", "L4",
    "ip_frame", "TcpConversation", "dns_query", "dns_response", "dns_name",
    "tls_client_hello", "tls_server_hello", "tls_record",
]

# --- constants ---------------------------------------------------------------------------

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8
ETH_IPV6 = 0x86DD
ETH_MPLS = 0x8847
ETH_TEB = 0x6558  # GRE "transparent Ethernet bridging": payload is an Ethernet frame
ETH_ERSPAN2 = 0x88BE  # GRE protocol for ERSPAN type II
ETH_ERSPAN3 = 0x22EB  # GRE protocol for ERSPAN type III

PROTO_HOPOPTS = 0
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_IPV6 = 41
PROTO_ROUTING = 43
PROTO_FRAGMENT = 44
PROTO_GRE = 47
PROTO_ICMPV6 = 58
PROTO_NONE = 59
PROTO_DSTOPTS = 60

PORT_VXLAN = 4789

CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:02"

# --- pcap writing ------------------------------------------------------------------------

_REC = struct.Struct("<IIII")


class PcapWriter:
    """Classic libpcap writer (little-endian, µs or ns timestamps), buffered.

    ts is float seconds: exact to the µs; near 2023 epochs a float carries only ~0.2 µs,
    so ns files get ns fields but not ns precision.
    """

    def __init__(self, path_or_fileobj, linktype=LINKTYPE_ETHERNET, snaplen=262144,
                 nanosecond=False):
        if isinstance(path_or_fileobj, (str, bytes, os.PathLike)):
            self._f = open(path_or_fileobj, "wb", buffering=1 << 20)
            self._own = True
        else:
            self._f, self._own = path_or_fileobj, False
        self.snaplen = snaplen
        self._scale = 1_000_000_000 if nanosecond else 1_000_000
        magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
        self._f.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        self.bytes_written = 24
        self.packets = 0

    def write(self, ts, frame, wirelen=None):
        """Write one record; wirelen > len(frame) makes a snaplen-truncated record."""
        caplen = len(frame)
        if caplen > self.snaplen:
            frame, caplen = frame[:self.snaplen], self.snaplen
            wirelen = max(wirelen or 0, len(frame))
        sec = int(ts)
        frac = int(round((ts - sec) * self._scale))
        if frac >= self._scale:
            sec, frac = sec + 1, frac - self._scale
        self._f.write(_REC.pack(sec, frac, caplen, wirelen if wirelen is not None else caplen))
        self._f.write(frame)
        self.bytes_written += 16 + caplen
        self.packets += 1

    def write_all(self, packets):
        """Write an iterable of (ts, frame) or (ts, frame, wirelen) tuples."""
        for p in packets:
            self.write(*p)

    def close(self):
        if self._own:
            self._f.close()
        else:
            self._f.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_pcap(path, packets, **kw):
    """Write (ts, frame[, wirelen]) tuples to a new pcap file; returns the record count."""
    with PcapWriter(path, **kw) as w:
        w.write_all(packets)
        return w.packets

# --- helpers -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _ip_text(addr: str) -> bytes:
    return ipaddress.ip_address(addr).packed


def _addr(addr) -> bytes:
    """Packed IPv4/IPv6 address from text or bytes."""
    return bytes(addr) if isinstance(addr, (bytes, bytearray)) else _ip_text(addr)


@functools.lru_cache(maxsize=1024)
def _mac(mac) -> bytes:
    if isinstance(mac, (bytes, bytearray)):
        return bytes(mac)
    return bytes.fromhex(mac.replace(":", "").replace("-", ""))


def _sum16(data) -> int:
    """16-bit ones'-complement word sum of data (odd length zero-padded), in 0..0xffff.

    Works because 2**16 == 1 (mod 0xffff): the big-endian integer of the data is congruent
    to the sum of its 16-bit words; int.from_bytes keeps the work in C.
    """
    v = int.from_bytes(data, "big")
    if len(data) & 1:
        v <<= 8
    return v % 0xFFFF or (0xFFFF if v else 0)


def _fold(total: int) -> int:
    """Checksum from a sum of _sum16() parts: ~(ones'-complement sum), 0 only if that sum is -0."""
    return 0xFFFF - (total % 0xFFFF or (0xFFFF if total else 0))


def checksum(data) -> int:
    """Internet checksum (RFC 1071) of data."""
    return _fold(_sum16(data))


class L4(bytes):
    """A TCP/UDP/ICMPv6 message whose checksum ipv4()/ipv6() fill in from the pseudo-header."""

    def __new__(cls, data, proto, csum_off, bad_csum=False):
        obj = super().__new__(cls, data)
        obj.proto, obj.csum_off, obj.bad_csum = proto, csum_off, bad_csum
        return obj

    def finish(self, pseudo_sum: int) -> bytes:
        """Plain bytes with the checksum set (zero if bad_csum)."""
        if self.bad_csum:
            return bytes(self)
        c = _fold(pseudo_sum + _sum16(self))
        if c == 0 and self.proto == PROTO_UDP:
            c = 0xFFFF  # UDP sends a computed 0 as 0xffff (0 means "no checksum")
        o = self.csum_off
        return self[:o] + c.to_bytes(2, "big") + self[o + 2:]

# --- link layer and tunnels --------------------------------------------------------------


def ether(src_mac, dst_mac, ethertype, payload, vlans=None) -> bytes:
    """Ethernet II frame (on the wire: dst, src, type). vlans=[outer, ..] adds 802.1Q tags."""
    if vlans:
        payload = vlan(vlans, ethertype, payload)
        ethertype = vlan_tpid(vlans)
    return _mac(dst_mac) + _mac(src_mac) + ethertype.to_bytes(2, "big") + payload


def vlan_tpid(tags) -> int:
    """TPID of the outermost tag: 0x88a8 (QinQ) for stacks of 2+, else 0x8100."""
    return ETH_QINQ if len(tags) > 1 else ETH_VLAN


def vlan(tags, ethertype, payload) -> bytes:
    """Tag stack for use as ether(.., vlan_tpid(tags), vlan(tags, ..)): bytes after the outer TPID.

    tags: outermost first; each a VID, or a full 16-bit TCI (PCP/DEI bits set) if > 4095.
    """
    out = []
    for i, tag in enumerate(tags):
        nxt = ETH_VLAN if i + 1 < len(tags) else ethertype
        out.append(struct.pack("!HH", tag & 0xFFFF, nxt))
    return b"".join(out) + payload


def mpls(labels, payload, tc=0, ttl=64) -> bytes:
    """MPLS label stack (ethertype ETH_MPLS), outermost label first, S bit on the last."""
    out = []
    for i, label in enumerate(labels):
        bos = 1 if i == len(labels) - 1 else 0
        out.append(struct.pack("!I", (label << 12) | (tc << 9) | (bos << 8) | ttl))
    return b"".join(out) + payload


def gre(proto, payload, key=None, seq=None, csum=False) -> bytes:
    """GRE header (IP protocol 47) carrying ethertype `proto`; optional checksum/key/seq."""
    flags = (0x8000 if csum else 0) | (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0)
    opt = b""
    if key is not None:
        opt += struct.pack("!I", key)
    if seq is not None:
        opt += struct.pack("!I", seq)
    if not csum:
        return struct.pack("!HH", flags, proto) + opt + payload
    body = struct.pack("!HH", flags, proto) + b"\0\0\0\0" + opt + payload
    return body[:4] + checksum(body).to_bytes(2, "big") + body[6:]


def erspan2(session_id, vlan, payload, index=0, cos=0, en=0, trunc=0) -> bytes:
    """ERSPAN type II header + mirrored frame; carry in gre(ETH_ERSPAN2, .., seq=n)."""
    w1 = (1 << 28) | ((vlan & 0xFFF) << 16) | (cos << 13) | (en << 11) | (trunc << 10) | (session_id & 0x3FF)
    return struct.pack("!II", w1, index & 0xFFFFF) + payload


def erspan3(session_id, vlan, payload, timestamp=0, sgt=0, hw_id=0, direction=0, cos=0,
            bso=0, trunc=0, gra=0, ft=0, platform=None) -> bytes:
    """ERSPAN type III header (+ optional 8-byte platform subheader); carry in gre(ETH_ERSPAN3, ..)."""
    w1 = (2 << 28) | ((vlan & 0xFFF) << 16) | (cos << 13) | (bso << 11) | (trunc << 10) | (session_id & 0x3FF)
    o = 1 if platform is not None else 0
    w3 = (sgt << 16) | (ft << 10) | ((hw_id & 0x3F) << 4) | (direction << 3) | (gra << 1) | o
    return struct.pack("!III", w1, timestamp & 0xFFFFFFFF, w3) + (platform or b"") + payload


def vxlan(vni, inner_frame) -> bytes:
    """VXLAN header + inner Ethernet frame; carry in udp(sport, PORT_VXLAN, ..)."""
    return struct.pack("!B3xI", 0x08, (vni & 0xFFFFFF) << 8) + inner_frame

# --- IP ----------------------------------------------------------------------------------

_IP4 = struct.Struct("!BBHHHBBH4s4s")


def ipv4(src, dst, proto, payload, ident=0, ttl=64, flags_df=False, frag_offset=0,
         more_frags=False, tos=0, options=b"", bad_csum=False) -> bytes:
    """IPv4 packet; frag_offset in bytes (multiple of 8). Fills an L4 payload's checksum."""
    s, d = _addr(src), _addr(dst)
    if isinstance(payload, L4):
        payload = payload.finish(_sum16(s + d) + proto + len(payload))
    options += b"\0" * (-len(options) % 4)
    ihl = 5 + len(options) // 4
    frag = (0x4000 if flags_df else 0) | (0x2000 if more_frags else 0) | (frag_offset >> 3)
    hdr = _IP4.pack(0x40 | ihl, tos, ihl * 4 + len(payload), ident & 0xFFFF, frag, ttl, proto, 0, s, d)
    hdr += options
    if not bad_csum:
        hdr = hdr[:10] + checksum(hdr).to_bytes(2, "big") + hdr[12:]
    return hdr + payload


def ipv6_frag_header(offset=0, more=False, ident=0):
    """Fragment extension header for ipv6(ext_headers=[..]); offset in bytes."""
    return (PROTO_FRAGMENT, b"\0" + struct.pack("!HI", (offset & 0xFFF8) | int(more), ident))


def ipv6_opts_header(kind=PROTO_DSTOPTS, options=b""):
    """Hop-by-hop (0) or destination-options (60) header, PadN-padded to 8 bytes."""
    pad = -(len(options) + 2) % 8
    if pad == 1:
        options += b"\0"  # Pad1
    elif pad:
        options += bytes([1, pad - 2]) + b"\0" * (pad - 2)
    return (kind, bytes([(len(options) + 2) // 8 - 1]) + options)


def ipv6(src, dst, next_header, payload, ext_headers=(), hop_limit=64, flow_label=0,
         tclass=0) -> bytes:
    """IPv6 packet. ext_headers: [(type, bytes after the header's next-header byte), ..]."""
    s, d = _addr(src), _addr(dst)
    if isinstance(payload, L4):
        payload = payload.finish(_sum16(s + d) + next_header + len(payload))
    exts = []
    for i, (kind, body) in enumerate(ext_headers):
        nxt = ext_headers[i + 1][0] if i + 1 < len(ext_headers) else next_header
        exts.append(bytes([nxt]) + body)
    first = ext_headers[0][0] if ext_headers else next_header
    body = b"".join(exts) + payload
    vtf = (6 << 28) | (tclass << 20) | (flow_label & 0xFFFFF)
    return struct.pack("!IHBB", vtf, len(body), first, hop_limit) + s + d + body


def ip(src, dst, proto, payload, **kw) -> bytes:
    """ipv4() or ipv6() depending on the address family of src."""
    v6 = ":" in src if isinstance(src, str) else len(src) == 16
    return (ipv6 if v6 else ipv4)(src, dst, proto, payload, **kw)


def _ipv4_header(hdr, payload_len, frag_field) -> bytes:
    hdr = bytearray(hdr)
    hdr[0] = 0x40 | (len(hdr) // 4)
    struct.pack_into("!H", hdr, 2, len(hdr) + payload_len)
    struct.pack_into("!H", hdr, 6, frag_field)
    struct.pack_into("!H", hdr, 10, 0)
    struct.pack_into("!H", hdr, 10, checksum(hdr))
    return bytes(hdr)


def fragment_ipv4(packet, size) -> list[bytes]:
    """Split an IPv4 packet into fragments of at most `size` payload bytes (rounded down to 8).

    Options stay in the first fragment only. Fragmenting a fragment keeps offsets and MF right.
    """
    ihl = (packet[0] & 0x0F) * 4
    total = struct.unpack_from("!H", packet, 2)[0]
    field = struct.unpack_from("!H", packet, 6)[0]
    base, df, mf = (field & 0x1FFF) * 8, field & 0x4000, field & 0x2000
    data = packet[ihl:total]
    size = max(8, size - size % 8)
    out = []
    for off in range(0, len(data), size):
        chunk = data[off:off + size]
        last = off + size >= len(data)
        hdr = packet[:ihl] if off == 0 else packet[:20]
        frag = df | (mf if last else 0x2000) | ((base + off) >> 3)
        out.append(_ipv4_header(hdr, len(chunk), frag) + chunk)
    return out


def fragment_ipv6(packet, size, ident=None) -> list[bytes]:
    """Split an IPv6 packet into fragments of at most `size` fragmentable bytes (rounded to 8).

    Hop-by-hop and routing headers (and destination options before routing) stay unfragmented.
    """
    plen = struct.unpack_from("!H", packet, 4)[0]
    end = 40 + plen
    nh_pos, unfrag_end, nh, off = 6, 40, packet[6], 40
    while nh in (PROTO_HOPOPTS, PROTO_ROUTING, PROTO_DSTOPTS) and off < end:
        hl = (packet[off + 1] + 1) * 8
        if nh != PROTO_DSTOPTS:
            nh_pos, unfrag_end = off, off + hl
        nh, off = packet[off], off + hl
    inner_nh = packet[nh_pos]
    unfrag = bytearray(packet[:unfrag_end])
    unfrag[nh_pos] = PROTO_FRAGMENT
    data = packet[unfrag_end:end]
    ident = random.getrandbits(32) if ident is None else ident
    size = max(8, size - size % 8)
    out = []
    for o in range(0, len(data), size):
        chunk = data[o:o + size]
        more = o + size < len(data)
        fh = struct.pack("!BBHI", inner_nh, 0, o | int(more), ident)
        struct.pack_into("!H", unfrag, 4, len(unfrag) - 40 + 8 + len(chunk))
        out.append(bytes(unfrag) + fh + chunk)
    return out

# --- transport ---------------------------------------------------------------------------

_TCP = struct.Struct("!HHIIBBHHH")
_FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40, "C": 0x80}


def tcp_flags(flags) -> int:
    """Flag byte from an int or letters such as "SA", "PA", "FA", "R"."""
    if isinstance(flags, int):
        return flags
    return sum(_FLAG_BITS[c] for c in set(flags.upper()))


def tcp_options(mss=None, wscale=None, sack_perm=False, timestamps=None, sack=()) -> bytes:
    """Encoded TCP options (tcp() pads them to 4 bytes)."""
    out = b""
    if mss is not None:
        out += struct.pack("!BBH", 2, 4, mss)
    if sack_perm:
        out += b"\x04\x02"
    if timestamps is not None:
        out += struct.pack("!BBII", 8, 10, *timestamps)
    if sack:
        out += bytes([5, 2 + 8 * len(sack)]) + b"".join(struct.pack("!II", l, r) for l, r in sack)
    if wscale is not None:
        out += struct.pack("!BBB", 3, 3, wscale)
    return out


def tcp(sport, dport, seq, ack, flags, payload=b"", window=65535, options=b"", urgent=0,
        bad_csum=False) -> L4:
    """TCP segment; seq/ack are taken mod 2**32."""
    options += b"\0" * (-len(options) % 4)
    hdr = _TCP.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (5 + len(options) // 4) << 4,
                    tcp_flags(flags), window, 0, urgent)
    return L4(hdr + options + payload, PROTO_TCP, 16, bad_csum)


def udp(sport, dport, payload=b"", bad_csum=False) -> L4:
    """UDP datagram (bad_csum leaves the checksum 0, "none" for IPv4)."""
    return L4(struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload, PROTO_UDP, 6, bad_csum)


def icmp_echo(type, id, seq, payload=b"", bad_csum=False) -> bytes:
    """ICMPv4 echo request (type 8) or reply (0); checksum included."""
    msg = struct.pack("!BBHHH", type, 0, 0, id, seq) + payload
    if bad_csum:
        return msg
    return msg[:2] + checksum(msg).to_bytes(2, "big") + msg[4:]


def icmpv6_echo(type, id, seq, payload=b"", bad_csum=False) -> L4:
    """ICMPv6 echo request (128) or reply (129); ipv6() fills the checksum."""
    return L4(struct.pack("!BBHHH", type, 0, 0, id, seq) + payload, PROTO_ICMPV6, 2, bad_csum)


def ip_frame(src, dst, proto, payload, src_mac=CLIENT_MAC, dst_mac=SERVER_MAC, vlans=None,
             **ip_kw) -> bytes:
    """Ethernet frame around ip(src, dst, proto, payload)."""
    pkt = ip(src, dst, proto, payload, **ip_kw)
    return ether(src_mac, dst_mac, ETH_IPV6 if len(pkt) and pkt[0] >> 4 == 6 else ETH_IPV4, pkt, vlans)

# --- TCP conversations -------------------------------------------------------------------


class TcpConversation:
    """One TCP session between client and server; every method returns [(ts, frame), ..].

    State per direction is the stream offset of the next byte; seq = isn + 1 + offset
    (mod 2**32), so ISNs near 2**32 force wraparound. Nothing is written: the caller decides
    the order. `ack_every=n` makes the receiver send one pure ACK per n data segments (and
    after the last segment of each send).
    """

    __slots__ = ("client", "server", "isn", "off", "mss", "ts", "step", "macs", "vlans",
                 "window", "ack_every", "ip_id", "ttl", "_v6", "_ports", "_ips")

    def __init__(self, client=("10.0.0.1", 40000), server=("10.0.0.2", 80), client_isn=None,
                 server_isn=None, mss=1460, ts=1_700_000_000.0, step=0.0001,
                 client_mac=CLIENT_MAC, server_mac=SERVER_MAC, vlans=None, window=65535,
                 ack_every=1, rng=None, ttl=64):
        rng = rng or random
        self.client, self.server = client, server
        self.isn = [rng.getrandbits(32) if client_isn is None else client_isn,
                    rng.getrandbits(32) if server_isn is None else server_isn]
        self.off = [0, 0]  # next stream offset per direction (0 = client, 1 = server)
        self.mss, self.ts, self.step, self.window, self.ack_every = mss, ts, step, window, ack_every
        self.macs = (_mac(client_mac), _mac(server_mac))
        self.vlans, self.ttl = vlans, ttl
        self.ip_id = [rng.getrandbits(16), rng.getrandbits(16)]
        self._v6 = ":" in client[0]
        self._ports = ((client[1], server[1]), (server[1], client[1]))
        self._ips = ((_addr(client[0]), _addr(server[0])), (_addr(server[0]), _addr(client[0])))

    @staticmethod
    def _dir(direction) -> int:
        if direction in (0, 1):
            return direction
        return 0 if direction in ("client", "c2s", "c") else 1

    def seq(self, direction, offset=None) -> int:
        """Sequence number of stream offset (default: the next byte) in a direction."""
        d = self._dir(direction)
        return (self.isn[d] + 1 + (self.off[d] if offset is None else offset)) & 0xFFFFFFFF

    def wait(self, seconds):
        """Advance the clock without sending anything."""
        self.ts += seconds

    def segment(self, direction, seq_offset, data=b"", flags="PA", ack=None, window=None,
                options=b"", bad_csum=False):
        """One crafted segment at a stream offset (-1 = the SYN's seq); state is unchanged."""
        d = self._dir(direction)
        fl = tcp_flags(flags)
        if ack is None:
            ack = self.seq(1 - d) if fl & 0x10 else 0
        sport, dport = self._ports[d]
        seg = tcp(sport, dport, self.isn[d] + 1 + seq_offset, ack, fl, data,
                  self.window if window is None else window, options, bad_csum=bad_csum)
        return self._frame(d, seg)

    def _frame(self, d, seg):
        src, dst = self._ips[d]
        if self._v6:
            pkt, et = ipv6(src, dst, PROTO_TCP, seg, hop_limit=self.ttl), ETH_IPV6
        else:
            self.ip_id[d] = (self.ip_id[d] + 1) & 0xFFFF
            pkt, et = ipv4(src, dst, PROTO_TCP, seg, ident=self.ip_id[d], ttl=self.ttl, flags_df=True), ETH_IPV4
        frame = ether(self.macs[d], self.macs[1 - d], et, pkt, self.vlans)
        ts, self.ts = self.ts, self.ts + self.step
        return ts, frame

    def handshake(self, options=True):
        """SYN, SYN-ACK, ACK."""
        opts = tcp_options(mss=self.mss, sack_perm=True) if options else b""
        return [self.segment(0, -1, flags="S", ack=0, options=opts),
                self.segment(1, -1, flags="SA", options=opts),
                self.segment(0, 0, flags="A")]

    def ack(self, direction):
        """Pure ACK sent by `direction` for everything it has received."""
        d = self._dir(direction)
        return self.segment(d, self.off[d], flags="A")

    def send(self, direction, data, ack=True, push=True):
        """Data in MSS-sized segments from `direction`, with the peer's ACKs if ack."""
        d = self._dir(direction)
        out, n, mss = [], 0, self.mss
        last = len(data) - 1
        for i in range(0, len(data), mss):
            chunk = data[i:i + mss]
            final = i + mss > last
            out.append(self.segment(d, self.off[d], chunk, "PA" if final and push else "A"))
            self.off[d] += len(chunk)
            n += 1
            if ack and (n % self.ack_every == 0 or final):
                out.append(self.ack(1 - d))
        return out

    def client_send(self, data, ack=True, push=True):
        return self.send(0, data, ack, push)

    def server_send(self, data, ack=True, push=True):
        return self.send(1, data, ack, push)

    def fin(self, direction):
        """A single FIN|ACK from `direction` (consumes one sequence number)."""
        d = self._dir(direction)
        pkt = self.segment(d, self.off[d], flags="FA")
        self.off[d] += 1
        return pkt

    def close(self, initiator="client"):
        """FIN|ACK, FIN|ACK from the peer, final ACK."""
        d = self._dir(initiator)
        return [self.fin(d), self.fin(1 - d), self.ack(d)]

    def rst(self, direction="client", flags="RA"):
        """RST from `direction` at its next sequence number."""
        d = self._dir(direction)
        return [self.segment(d, self.off[d], flags=flags)]

# --- DNS ---------------------------------------------------------------------------------

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "ANY": 255}


def dns_name(name) -> bytes:
    """Uncompressed wire-format name."""
    out = b""
    for label in name.strip(".").split(".") if name.strip(".") else []:
        raw = label.encode() if isinstance(label, str) else label
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad DNS label {label!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def _qtype(qtype) -> int:
    return QTYPES[qtype.upper()] if isinstance(qtype, str) else qtype


def _rdata(qtype, value) -> bytes:
    if qtype in (1, 28):
        return _addr(value)
    if qtype in (2, 5, 12):
        return dns_name(value)
    if qtype == 15:
        pref, host = value
        return struct.pack("!H", pref) + dns_name(host)
    if qtype == 16:
        raw = value.encode() if isinstance(value, str) else value
        return b"".join(bytes([len(raw[i:i + 255])]) + raw[i:i + 255] for i in range(0, max(len(raw), 1), 255))
    return value  # raw rdata


def dns_query(name, qtype="A", qid=0, rd=True) -> bytes:
    """DNS query message (one question, class IN)."""
    flags = 0x0100 if rd else 0
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", _qtype(qtype), 1)


def dns_response(name, qtype="A", qid=0, answers=(), rcode=0, ttl=300, rd=True, ra=True) -> bytes:
    """DNS response echoing the question; answers are values of qtype (text for A/AAAA/names/TXT,
    (pref, host) for MX, raw rdata bytes otherwise)."""
    t = _qtype(qtype)
    flags = 0x8000 | (0x0100 if rd else 0) | (0x0080 if ra else 0) | (rcode & 0xF)
    qname = dns_name(name)
    out = [struct.pack("!HHHHHH", qid, flags, 1, len(answers), 0, 0), qname, struct.pack("!HH", t, 1)]
    for value in answers:
        rd_ = _rdata(t, value)
        out.append(qname + struct.pack("!HHIH", t, 1, ttl, len(rd_)) + rd_)
    return b"".join(out)

# --- TLS (enough for dissectors and SNI extraction) --------------------------------------


def tls_record(content_type, body, version=0x0303) -> bytes:
    """One TLS record: type, version, length, body."""
    return struct.pack("!BHH", content_type, version, len(body)) + body


def _ext(kind, body) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def _handshake(kind, body) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def tls_client_hello(sni=None, rng=None) -> bytes:
    """TLS 1.3 ClientHello record (x25519 key share, SNI if given)."""
    rb = (rng or random).randbytes
    exts = b""
    if sni:
        host = sni.encode()
        exts += _ext(0, struct.pack("!HBH", len(host) + 3, 0, len(host)) + host)
    exts += _ext(10, b"\x00\x02\x00\x1d")                       # supported_groups: x25519
    exts += _ext(13, b"\x00\x04\x04\x03\x08\x04")               # signature_algorithms
    exts += _ext(43, b"\x02\x03\x04")                           # supported_versions: TLS 1.3
    exts += _ext(51, b"\x00\x24\x00\x1d\x00\x20" + rb(32))      # key_share
    body = (b"\x03\x03" + rb(32) + b"\x20" + rb(32) + b"\x00\x06\x13\x01\x13\x02\x13\x03"
            + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    return tls_record(22, _handshake(1, body), version=0x0301)


def tls_server_hello(rng=None) -> bytes:
    """TLS 1.3 ServerHello record followed by a ChangeCipherSpec record."""
    rb = (rng or random).randbytes
    exts = _ext(43, b"\x03\x04") + _ext(51, b"\x00\x1d\x00\x20" + rb(32))
    body = b"\x03\x03" + rb(32) + b"\x20" + rb(32) + b"\x13\x01\x00" + struct.pack("!H", len(exts)) + exts
    return tls_record(22, _handshake(2, body)) + tls_record(20, b"\x01")
