"""Frame decoder: link layer, VLAN/QinQ, MPLS, IPv4/IPv6 (with fragments), tunnels, L4.

Fixed headers are read with struct at known offsets (this is the hot path); nothing here
allocates more than the payload slice. Checksums are not verified: on a SPAN port and on
captures taken at the sender, offload makes many of them wrong, and the endpoints accepted
the data anyway.

`Decoder.decode` never raises: a frame it cannot use is counted under a named kind in
`Decoder.errors` (e.g. "ipv4.trunc_pkt") and None is returned; frames of protocols the
engine does not inspect (ARP, IGMP, ESP...) are counted in `Decoder.skipped`.
"""

from __future__ import annotations

import struct
from collections import Counter

from dlp.decode.defrag import Defragmenter
from dlp.decode.packet import ICMP, ICMP6, TCP, UDP, Packet
from dlp.errors import DecodeError

_u16 = struct.Struct("!H").unpack_from
_u32 = struct.Struct("!I").unpack_from
_ipv4_hdr = struct.Struct("!BBHHHBB2x4s4s").unpack_from
_ipv6_hdr = struct.Struct("!IHBB16s16s").unpack_from
_tcp_hdr = struct.Struct("!HHIIBBHHH").unpack_from
_ports = struct.Struct("!HH").unpack_from
_ts_opt = struct.Struct("!II").unpack_from
# IPv4 (no options) + TCP fixed header: total length, frag, proto, addresses, ports, seq,
# ack, data offset, flags, window, urgent pointer
_fast_hdr = struct.Struct("!2xH2xHxB2x4s4sHHIIBBH2xH").unpack_from

# link types (LINKTYPE_* numbers as written in pcap headers)
LT_NULL, LT_ETHERNET, LT_RAW, LT_LOOP, LT_SLL, LT_SLL2 = 0, 1, 101, 108, 113, 276
LT_RAW_ALIASES = {12, 14, 101}
LT_IPV4, LT_IPV6 = 228, 229

ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD = 0x0800, 0x86DD, 0x8100, 0x88A8, 0x9100
ETH_MPLS, ETH_MPLS_MC, ETH_PPPOE, ETH_TEB = 0x8847, 0x8848, 0x8864, 0x6558
GRE_ERSPAN2, GRE_ERSPAN3, GRE_PPP = 0x88BE, 0x22EB, 0x880B
VXLAN_PORT = 4789
MAX_TUNNEL_DEPTH = 8
IPV6_EXT = {0, 43, 60, 135, 139, 140}  # hop-by-hop, routing, dest opts, mobility, HIP, shim6


class Decoder:
    """Decodes frames to Packets; counts what it could not decode by kind."""

    def __init__(self, defrag_timeout_us: int = 60_000_000):
        self.errors: Counter = Counter()  # malformed frames dropped, by reason
        self.skipped: Counter = Counter()  # well-formed frames of protocols not inspected
        self.events: Counter = Counter()  # anomalies in frames that were still used
        self.defrag = Defragmenter(self.events, timeout_us=defrag_timeout_us)
        self._depth = 0

    def decode(self, linktype: int, frame: bytes, wirelen: int, ts: int) -> Packet | None:
        self._depth = 0
        try:
            missing = wirelen - len(frame)
            if linktype == LT_ETHERNET:
                if len(frame) >= 54 and frame[12:15] == b"\x08\x00\x45":
                    pkt = self._eth_ipv4_tcp(frame, missing, ts)  # the common case
                elif _u16(frame, 12)[0] == ETH_IPV4:
                    pkt = self._ipv4(frame, 14, missing, ts, ())
                else:
                    pkt = self._ethernet(frame, 0, missing, ts, ())
            else:
                pkt = self._link(linktype, frame, missing, ts)
            if pkt is not None:
                pkt.wirelen = wirelen
            return pkt
        except DecodeError as exc:
            if exc.kind.startswith("unsupported."):
                self.skipped[exc.kind] += 1
            else:
                self.errors[exc.kind] += 1
        except (struct.error, IndexError):
            self.errors["decoder.truncated"] += 1
        return None

    def _eth_ipv4_tcp(self, frame: bytes, missing: int, ts: int):
        """Untagged Ethernet, IPv4 without options, unfragmented TCP: one unpack. Anything
        else (or anything odd) takes the general path, which names the problem."""
        (total, frag, proto, src, dst, sport, dport, seq, ack, doff, flags, win,
         urg) = _fast_hdr(frame, 14)
        if proto == UDP:
            return self._eth_ipv4_udp(frame, missing, ts, total, frag, src, dst, sport, dport, seq >> 16)
        if proto != TCP or frag & 0x3FFF or total > len(frame) - 14 or total < 40 or doff < 0x50:
            return self._ipv4(frame, 14, missing, ts, ())
        hlen = (doff >> 4) * 4
        end = 14 + total
        if 34 + hlen > end:
            return self._ipv4(frame, 14, missing, ts, ())
        pkt = Packet(ts, 0, (), src, dst, TCP, sport, dport, flags | ((doff & 0x0F) << 8), seq, ack,
                     win, frame[34 + hlen : end])
        if urg and flags & 0x20:
            pkt.urg = urg
        if hlen > 20:
            if frame[54:58] == b"\x01\x01\x08\x0a" and hlen >= 32:
                pkt.tsval, pkt.tsecr = _ts_opt(frame, 58)
            else:
                self._tcp_options(pkt, frame, 54, 34 + hlen)
        return pkt

    def _eth_ipv4_udp(self, frame: bytes, missing: int, ts: int, total: int, frag: int,
                      src: bytes, dst: bytes, sport: int, dport: int, ulen: int):
        """The same for UDP (DNS, mostly), from the header already unpacked: `ulen` is the
        UDP length field. VXLAN, fragments and anything odd take the general path."""
        if frag & 0x3FFF or not 28 <= total <= len(frame) - 14 or ulen < 8 or dport == VXLAN_PORT:
            return self._ipv4(frame, 14, missing, ts, ())
        end = 14 + total
        pkt = Packet(ts, 0, (), src, dst, UDP, sport, dport)
        pkt.payload = frame[42 : 34 + ulen if ulen <= total - 20 else end]
        return pkt

    # -- link layers ----------------------------------------------------------
    def _link(self, linktype: int, frame: bytes, missing: int, ts: int):
        if linktype in LT_RAW_ALIASES:
            return self._ip_by_version(frame, 0, missing, ts, ())
        if linktype in (LT_NULL, LT_LOOP):
            if len(frame) < 4:
                raise DecodeError("null.pkt_too_small")
            family = frame[0] if frame[0] else frame[3]  # host byte order, either endianness
            if linktype == LT_LOOP:
                family = _u32(frame, 0)[0]
            if family == 2:
                return self._ipv4(frame, 4, missing, ts, ())
            if family in (10, 24, 28, 30):
                return self._ipv6(frame, 4, missing, ts, ())
            raise DecodeError("unsupported.null_family")
        if linktype == LT_SLL:
            if len(frame) < 16:
                raise DecodeError("sll.pkt_too_small")
            return self._ethertype(_u16(frame, 14)[0], frame, 16, missing, ts, ())
        if linktype == LT_SLL2:
            if len(frame) < 20:
                raise DecodeError("sll2.pkt_too_small")
            return self._ethertype(_u16(frame, 0)[0], frame, 20, missing, ts, ())
        if linktype == LT_IPV4:
            return self._ipv4(frame, 0, missing, ts, ())
        if linktype == LT_IPV6:
            return self._ipv6(frame, 0, missing, ts, ())
        raise DecodeError(f"unsupported.linktype_{linktype}")

    def _ethernet(self, frame: bytes, off: int, missing: int, ts: int, vlan: tuple):
        if len(frame) < off + 14:
            raise DecodeError("ethernet.pkt_too_small")
        etype = _u16(frame, off + 12)[0]
        off += 14
        if etype < 0x0600:  # 802.3 length field: LLC, maybe SNAP carrying an ethertype
            if frame[off : off + 3] == b"\xaa\xaa\x03":
                return self._ethertype(_u16(frame, off + 6)[0], frame, off + 8, missing, ts, vlan)
            raise DecodeError("unsupported.llc")
        return self._ethertype(etype, frame, off, missing, ts, vlan)

    def _ethertype(self, etype: int, frame: bytes, off: int, missing: int, ts: int, vlan: tuple):
        while etype in (ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD):
            if len(frame) < off + 4:
                raise DecodeError("vlan.pkt_too_small")
            vlan = vlan + (_u16(frame, off)[0] & 0x0FFF,)
            etype = _u16(frame, off + 2)[0]
            off += 4
        if etype == ETH_IPV4:
            return self._ipv4(frame, off, missing, ts, vlan)
        if etype == ETH_IPV6:
            return self._ipv6(frame, off, missing, ts, vlan)
        if etype in (ETH_MPLS, ETH_MPLS_MC):
            return self._mpls(frame, off, missing, ts, vlan)
        if etype == ETH_PPPOE:
            if len(frame) < off + 8:
                raise DecodeError("pppoe.pkt_too_small")
            return self._ppp_proto(_u16(frame, off + 6)[0], frame, off + 8, missing, ts, vlan)
        if etype == ETH_TEB:
            return self._tunnel(self._ethernet, frame, off, missing, ts, vlan)
        raise DecodeError("unsupported.ethertype")

    def _mpls(self, frame: bytes, off: int, missing: int, ts: int, vlan: tuple):
        while True:
            if len(frame) < off + 4:
                raise DecodeError("mpls.pkt_too_small")
            bottom = frame[off + 2] & 0x01
            off += 4
            if bottom:
                break
        if len(frame) <= off:
            raise DecodeError("mpls.pkt_too_small")
        nibble = frame[off] >> 4
        if nibble == 4:
            return self._ipv4(frame, off, missing, ts, vlan)
        if nibble == 6:
            return self._ipv6(frame, off, missing, ts, vlan)
        if nibble == 0:  # pseudowire control word, then Ethernet
            return self._ethernet(frame, off + 4, missing, ts, vlan)
        return self._ethernet(frame, off, missing, ts, vlan)

    def _ppp_proto(self, proto: int, frame: bytes, off: int, missing: int, ts: int, vlan: tuple):
        if proto == 0x0021:
            return self._ipv4(frame, off, missing, ts, vlan)
        if proto == 0x0057:
            return self._ipv6(frame, off, missing, ts, vlan)
        raise DecodeError("unsupported.ppp_proto")

    def _ip_by_version(self, frame: bytes, off: int, missing: int, ts: int, vlan: tuple):
        if len(frame) <= off:
            raise DecodeError("ip.pkt_too_small")
        version = frame[off] >> 4
        if version == 4:
            return self._ipv4(frame, off, missing, ts, vlan)
        if version == 6:
            return self._ipv6(frame, off, missing, ts, vlan)
        raise DecodeError("ip.unknown_version")

    # -- IP ----------------------------------------------------------------------
    def _ipv4(self, frame: bytes, off: int, missing: int, ts: int, vlan: tuple):
        avail = len(frame) - off
        if avail < 20:
            raise DecodeError("ipv4.pkt_too_small")
        vihl, _tos, total, ident, frag, _ttl, proto, src, dst = _ipv4_hdr(frame, off)
        if vihl >> 4 != 4:
            raise DecodeError("ipv4.wrong_ip_version")
        hlen = (vihl & 0x0F) * 4
        if hlen < 20:
            raise DecodeError("ipv4.hlen_too_small")
        if total < hlen:
            raise DecodeError("ipv4.iplen_smaller_than_hlen")
        if avail < hlen:
            raise DecodeError("ipv4.hlen_truncated")
        if total > avail:
            if missing <= 0:  # the header claims bytes that were never on the wire
                raise DecodeError("ipv4.trunc_pkt")
            cut = total - avail  # snaplen cut: the rest is missing data
            end = len(frame)
        else:
            cut = 0
            end = off + total  # drops Ethernet padding
        if frag & 0x3FFF:  # MF set or offset non-zero
            if frag & 0x4000:
                self.events["ipv4.frag_with_df"] += 1
            if cut:
                raise DecodeError("ipv4.frag_truncated")
            key = (src, dst, ident, proto)
            done = self.defrag.add(key, ts, (frag & 0x1FFF) * 8, bool(frag & 0x2000),
                                   frame[off + hlen : end], "ipv4")
            if done is None:
                return None
            body = done[0]
            return self._l4(proto, body, 0, len(body), 0, ts, vlan, src, dst)
        return self._l4(proto, frame, off + hlen, end, cut, ts, vlan, src, dst)

    def _ipv6(self, frame: bytes, off: int, missing: int, ts: int, vlan: tuple):
        avail = len(frame) - off
        if avail < 40:
            raise DecodeError("ipv6.pkt_too_small")
        vfl, plen, nxt, _hlim, src, dst = _ipv6_hdr(frame, off)
        if vfl >> 28 != 6:
            raise DecodeError("ipv6.wrong_ip_version")
        start = off + 40
        if plen == 0:  # jumbogram or TSO super-frame: trust the capture
            plen = avail - 40
        if plen > avail - 40:
            if missing <= 0:
                raise DecodeError("ipv6.trunc_pkt")
            cut, end = plen - (avail - 40), len(frame)
        else:
            cut, end = 0, start + plen
        pos = start
        while nxt in IPV6_EXT or nxt == 44 or nxt == 51:
            if end < pos + 8:
                raise DecodeError("ipv6.exthdr_truncated")
            if nxt == 44:  # fragment header
                frag_field = _u16(frame, pos + 2)[0]
                ident = _u32(frame, pos + 4)[0]
                inner = frame[pos]
                offset, more = frag_field & 0xFFF8, bool(frag_field & 1)
                pos += 8
                if offset == 0 and not more:  # atomic fragment: a whole packet
                    self.events["ipv6.atomic_fragment"] += 1
                    nxt = inner
                    continue
                if cut:
                    raise DecodeError("ipv6.frag_truncated")
                done = self.defrag.add((src, dst, ident, 6), ts, offset, more, frame[pos:end],
                                       "ipv6", header=inner)
                if done is None:
                    return None
                body, first_next = done
                return self._ipv6_after_frag(first_next, body, ts, vlan, src, dst)
            hdr_len = (frame[pos + 1] + 2) * 4 if nxt == 51 else (frame[pos + 1] + 1) * 8
            nxt = frame[pos]
            pos += hdr_len
        if pos > end:
            raise DecodeError("ipv6.exthdr_truncated")
        return self._l4(nxt, frame, pos, end, cut, ts, vlan, src, dst)

    def _ipv6_after_frag(self, nxt, body: bytes, ts: int, vlan: tuple, src: bytes, dst: bytes):
        """The reassembled fragmentable part may start with more extension headers."""
        pos = 0
        while nxt in IPV6_EXT:
            if len(body) < pos + 8:
                raise DecodeError("ipv6.exthdr_truncated")
            nxt, pos = body[pos], pos + (body[pos + 1] + 1) * 8
        return self._l4(nxt, body, pos, len(body), 0, ts, vlan, src, dst)

    # -- layer 4 -----------------------------------------------------------------
    def _l4(self, proto: int, frame: bytes, off: int, end: int, cut: int, ts: int, vlan: tuple,
            src: bytes, dst: bytes):
        if proto == TCP:
            return self._tcp(frame, off, end, cut, ts, vlan, src, dst)
        if proto == UDP:
            return self._udp(frame, off, end, cut, ts, vlan, src, dst)
        if proto == ICMP or proto == ICMP6:
            return self._icmp(proto, frame, off, end, cut, ts, vlan, src, dst)
        if proto == 47:
            return self._gre(frame, off, end, cut, ts, vlan)
        if proto == 4:
            return self._tunnel(self._ipv4, frame[:end], off, cut, ts, vlan)
        if proto == 41:
            return self._tunnel(self._ipv6, frame[:end], off, cut, ts, vlan)
        raise DecodeError("unsupported.ip_proto")

    def _tcp(self, frame, off, end, cut, ts, vlan, src, dst):
        if end - off < 20:
            raise DecodeError("tcp.pkt_too_small")
        sport, dport, seq, ack, doff, flags, win, _csum, urg = _tcp_hdr(frame, off)
        hlen = (doff >> 4) * 4
        if hlen < 20:
            raise DecodeError("tcp.hlen_too_small")
        if end - off < hlen:
            raise DecodeError("tcp.hlen_truncated" if cut else "tcp.invalid_optlen")
        pkt = Packet(ts, 0, vlan, src, dst, TCP)
        pkt.sport, pkt.dport, pkt.seq, pkt.ack = sport, dport, seq, ack
        pkt.flags, pkt.win = flags | ((doff & 0x0F) << 8), win  # keep the reserved/NS bits
        if urg and flags & 0x20:
            pkt.urg = urg
        if hlen > 20:
            # Linux puts NOP NOP TS first: check that before walking the options.
            o = off + 20
            if frame[o : o + 4] == b"\x01\x01\x08\x0a" and hlen >= 32:
                pkt.tsval, pkt.tsecr = _ts_opt(frame, o + 4)
            else:
                self._tcp_options(pkt, frame, o, off + hlen)
        pkt.payload = frame[off + hlen : end]
        pkt.missing = cut
        return pkt

    def _tcp_options(self, pkt: Packet, frame: bytes, pos: int, end: int) -> None:
        while pos < end:
            kind = frame[pos]
            if kind == 0:
                return
            if kind == 1:
                pos += 1
                continue
            if pos + 1 >= end:
                self.events["tcp.opt_invalid_len"] += 1
                return
            length = frame[pos + 1]
            if length < 2 or pos + length > end:
                self.events["tcp.opt_invalid_len"] += 1
                return
            if kind == 8 and length == 10:
                pkt.tsval, pkt.tsecr = _ts_opt(frame, pos + 2)
            elif kind == 3 and length == 3:
                pkt.wscale = min(frame[pos + 2], 14)
            pos += length

    def _udp(self, frame, off, end, cut, ts, vlan, src, dst):
        if end - off < 8:
            raise DecodeError("udp.pkt_too_small")
        sport, dport = _ports(frame, off)
        ulen = _u16(frame, off + 4)[0]
        if ulen < 8:
            raise DecodeError("udp.hlen_too_small")
        if dport == VXLAN_PORT and not cut and end - off >= 16 and frame[off + 8] & 0x08:
            return self._tunnel(self._ethernet, frame[:end], off + 16, 0, ts, vlan)
        pkt = Packet(ts, 0, vlan, src, dst, UDP)
        pkt.sport, pkt.dport = sport, dport
        stop = min(end, off + ulen) if ulen <= end - off + cut else end
        pkt.payload = frame[off + 8 : stop]
        pkt.missing = cut if ulen > end - off else 0
        return pkt

    def _icmp(self, proto, frame, off, end, cut, ts, vlan, src, dst):
        if end - off < 4:
            raise DecodeError("icmp.pkt_too_small")
        pkt = Packet(ts, 0, vlan, src, dst, proto)
        pkt.sport, pkt.dport = frame[off], frame[off + 1]
        if end - off >= 8:
            pkt.icmp_id = _u16(frame, off + 4)[0]
            pkt.seq = _u16(frame, off + 6)[0]
        pkt.payload = frame[off + 8 : end]
        pkt.missing = cut
        return pkt

    # -- tunnels -------------------------------------------------------------------
    def _tunnel(self, inner, frame: bytes, off: int, missing: int, ts: int, vlan: tuple):
        self._depth += 1
        if self._depth > MAX_TUNNEL_DEPTH:
            raise DecodeError("tunnel.too_deep")
        pkt = inner(frame, off, missing, ts, vlan)
        if pkt is not None and pkt.tunnel is None:
            pkt.tunnel = inner.__name__.strip("_")
        return pkt

    def _gre(self, frame, off, end, cut, ts, vlan):
        if end - off < 4:
            raise DecodeError("gre.pkt_too_small")
        flags, proto = frame[off], _u16(frame, off + 2)[0]
        version = frame[off + 1] & 0x07
        pos = off + 4
        if flags & 0x80:  # checksum present (and reserved1)
            pos += 4
        if flags & 0x20:  # key present
            pos += 4
        if flags & 0x10:  # sequence present
            pos += 4
        if version == 1 and frame[off + 1] & 0x80:  # PPTP acknowledgment number
            pos += 4
        if pos > end:
            raise DecodeError("gre.pkt_too_small")
        frame = frame[:end]
        if proto == ETH_IPV4:
            return self._tunnel(self._ipv4, frame, pos, cut, ts, vlan)
        if proto == ETH_IPV6:
            return self._tunnel(self._ipv6, frame, pos, cut, ts, vlan)
        if proto == ETH_TEB:
            return self._tunnel(self._ethernet, frame, pos, cut, ts, vlan)
        if proto == GRE_ERSPAN2:
            if not flags & 0x10:  # ERSPAN type I: no ERSPAN header, Ethernet follows
                return self._tunnel(self._ethernet, frame, pos, cut, ts, vlan)
            if end - pos < 8:
                raise DecodeError("erspan.pkt_too_small")
            vlan = _erspan_vlan(frame, pos, pos + 8, vlan)
            return self._tunnel(self._ethernet, frame, pos + 8, cut, ts, vlan)
        if proto == GRE_ERSPAN3:
            if end - pos < 12:
                raise DecodeError("erspan.pkt_too_small")
            sub = 8 if frame[pos + 11] & 0x01 else 0  # O bit: platform-specific subheader
            vlan = _erspan_vlan(frame, pos, pos + 12 + sub, vlan)
            frame_type = (frame[pos + 10] >> 2) & 0x1F
            if frame_type == 2:
                return self._tunnel(self._ip_by_version, frame, pos + 12 + sub, cut, ts, vlan)
            return self._tunnel(self._ethernet, frame, pos + 12 + sub, cut, ts, vlan)
        if proto == GRE_PPP:
            if frame[pos : pos + 2] == b"\xff\x03":
                pos += 2
            if end - pos < 2:
                raise DecodeError("ppp.pkt_too_small")
            if frame[pos] & 0x01:  # protocol field compressed to one byte
                return self._ppp_proto(frame[pos], frame, pos + 1, cut, ts, vlan)
            return self._ppp_proto(_u16(frame, pos)[0], frame, pos + 2, cut, ts, vlan)
        raise DecodeError("unsupported.gre_proto")


def _erspan_vlan(frame: bytes, hdr: int, inner: int, vlan: tuple) -> tuple:
    """The ERSPAN header's VLAN is the mirrored frame's; count it once, not again when the
    frame kept its own 802.1Q tag."""
    erspan_vlan = _u16(frame, hdr)[0] & 0x0FFF
    if not erspan_vlan:
        return vlan
    if len(frame) >= inner + 14 and _u16(frame, inner + 12)[0] in (ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD):
        return vlan
    return vlan + (erspan_vlan,)
