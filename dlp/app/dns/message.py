"""DNS messages (RFC 1035 and later record types), parsed without trusting a byte.

`parse(data)` returns a `Message` or raises `DnsError` (the one exception type leaving this
module) naming what was wrong: names are followed through compression pointers with loop and
length limits, labels stay bytes (tunnels put raw 8-bit bytes in them), every record type keeps
its raw rdata, and common types are decoded (A, AAAA, NS, CNAME, PTR, MX, TXT, SRV, SOA,
NULL, OPT/EDNS0, SVCB/HTTPS). Not wired into the pipeline yet: the covert-channel issue uses it.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

MAX_NAME = 255
MAX_POINTERS = 64
MAX_RECORDS = 512  # per section: more is hostile or broken

_header = struct.Struct("!HHHHHH").unpack_from
_qtail = struct.Struct("!HH").unpack_from
_rr_head = struct.Struct("!HHIH").unpack_from

TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 12: "PTR", 15: "MX", 16: "TXT",
         28: "AAAA", 33: "SRV", 41: "OPT", 64: "SVCB", 65: "HTTPS", 255: "ANY"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


class DnsError(Exception):
    """A message that cannot be parsed; `kind` is the anomaly name (e.g. dns.name_loop)."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


# Not frozen: a frozen dataclass sets every field through object.__setattr__, which made
# building these objects a third of the parse time; nothing here changes them after parse.
@dataclass(slots=True)
class Question:
    name: bytes  # dotted, lower-cased labels joined by b"."; raw bytes kept
    qtype: int
    qclass: int


@dataclass(slots=True)
class Record:
    name: bytes
    rtype: int
    rclass: int
    ttl: int
    rdata: bytes
    value: object = None  # decoded rdata for known types (str, bytes, tuple, dict)


@dataclass(slots=True)
class Message:
    id: int
    response: bool
    opcode: int
    rcode: int
    flags: int
    questions: tuple[Question, ...]
    answers: tuple[Record, ...]
    authority: tuple[Record, ...]
    additional: tuple[Record, ...]
    edns: dict | None = None  # {"udp_size", "version", "do", "options": [(code, bytes)]}
    size: int = 0
    anomalies: tuple[str, ...] = field(default=())

    @property
    def truncated(self) -> bool:
        return bool(self.flags & 0x0200)


def parse(data: bytes) -> Message:
    if len(data) < 12:
        raise DnsError("dns.too_short", f"{len(data)} bytes")
    ident, flags, qd, an, ns, ar = _header(data, 0)
    for count in (qd, an, ns, ar):
        if count > MAX_RECORDS:
            raise DnsError("dns.too_many_records", str(count))
    pos = 12
    anomalies = []
    questions = []
    for _ in range(qd):
        name, pos = read_name(data, pos)
        if pos + 4 > len(data):
            raise DnsError("dns.truncated", "question")
        qtype, qclass = _qtail(data, pos)
        pos += 4
        questions.append(Question(name, qtype, qclass))
    sections = []
    edns = None
    for count in (an, ns, ar):
        records = []
        for _ in range(count):
            record, pos = _read_record(data, pos)
            if record.rtype == 41:
                edns = record.value
            records.append(record)
        sections.append(tuple(records))
    if pos < len(data):
        anomalies.append("dns.trailing_bytes")
    return Message(ident, bool(flags & 0x8000), (flags >> 11) & 0xF, flags & 0xF, flags,
                   tuple(questions), *sections, edns=edns, size=len(data),
                   anomalies=tuple(anomalies))


def read_name(data: bytes, pos: int) -> tuple[bytes, int]:
    """A (possibly compressed) name at `pos`: (dotted lower-case name, position after it)."""
    labels: list[bytes] = []
    size = len(data)
    length = 0
    end = None
    jumps = 0
    while True:
        if pos >= size:
            raise DnsError("dns.truncated", "name")
        n = data[pos]
        if n == 0:
            pos += 1
            break
        if n >= 0x40:
            if n < 0xC0:
                raise DnsError("dns.bad_label_type", hex(n))
            if pos + 1 >= size:
                raise DnsError("dns.truncated", "pointer")
            jumps += 1
            if jumps > MAX_POINTERS:
                raise DnsError("dns.name_loop")
            target = ((n & 0x3F) << 8) | data[pos + 1]
            if end is None:
                end = pos + 2
            if target >= size:
                raise DnsError("dns.bad_pointer", str(target))
            pos = target
            continue
        pos += 1 + n
        if pos > size:
            raise DnsError("dns.truncated", "label")
        length += n + 1
        if length > MAX_NAME:
            raise DnsError("dns.name_too_long")
        labels.append(data[pos - n : pos])
    return b".".join(labels).lower(), (end if end is not None else pos)


def _read_record(data: bytes, pos: int) -> tuple[Record, int]:
    name, pos = read_name(data, pos)
    if pos + 10 > len(data):
        raise DnsError("dns.truncated", "record header")
    rtype, rclass, ttl, rdlen = _rr_head(data, pos)
    pos += 10
    rdata = data[pos : pos + rdlen]
    if len(rdata) < rdlen:
        raise DnsError("dns.truncated", "rdata")
    try:
        value = _decode_rdata(data, pos, rtype, rclass, ttl, rdata)
    except (DnsError, struct.error, ValueError, IndexError):
        value = None  # kept raw: a bad rdata costs its record's decoding, not the message
    return Record(name, rtype, rclass, ttl, rdata, value), pos + rdlen


def _decode_rdata(data: bytes, pos: int, rtype: int, rclass: int, ttl: int, rdata: bytes):
    if rtype == 1 and len(rdata) == 4:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if rtype == 28 and len(rdata) == 16:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    if rtype in (2, 5, 12):
        return read_name(data, pos)[0]
    if rtype == 15:
        return struct.unpack_from("!H", rdata)[0], read_name(data, pos + 2)[0]
    if rtype == 16:
        strings, i = [], 0
        while i < len(rdata):
            n = rdata[i]
            strings.append(rdata[i + 1 : i + 1 + n])
            i += 1 + n
        return tuple(strings)
    if rtype == 33:
        prio, weight, port = struct.unpack_from("!HHH", rdata)
        return prio, weight, port, read_name(data, pos + 6)[0]
    if rtype == 6:
        mname, p = read_name(data, pos)
        rname, p = read_name(data, p)
        return (mname, rname) + struct.unpack_from("!IIIII", data, p)
    if rtype in (64, 65):
        priority = struct.unpack_from("!H", rdata)[0]
        return priority, read_name(data, pos + 2)[0]
    if rtype == 41:
        options, i = [], 0
        while i + 4 <= len(rdata):
            code, n = struct.unpack_from("!HH", rdata, i)
            options.append((code, rdata[i + 4 : i + 4 + n]))
            i += 4 + n
        return {"udp_size": rclass, "ext_rcode": ttl >> 24, "version": (ttl >> 16) & 0xFF,
                "do": bool(ttl & 0x8000), "options": options}
    return None  # NULL and private types: raw rdata only


def type_name(rtype: int) -> str:
    return TYPES.get(rtype, f"TYPE{rtype}")


class TcpFramer:
    """DNS over TCP (RFC 7766): 2-byte length-prefixed messages in a stream. Sans-I/O: feed
    in-order bytes, get complete message payloads; after a gap the framing is lost and the
    rest of that direction is ignored (counted by the caller)."""

    MAX_BUFFER = 65535 + 2

    def __init__(self):
        self.buf = bytearray()
        self.lost = False

    def feed(self, data: bytes) -> list[bytes]:
        if self.lost:
            return []
        self.buf += data
        out = []
        while len(self.buf) >= 2:
            n = (self.buf[0] << 8) | self.buf[1]
            if len(self.buf) < 2 + n:
                break
            out.append(bytes(self.buf[2 : 2 + n]))
            del self.buf[: 2 + n]
        return out

    def gap(self) -> None:
        self.lost = True
        self.buf = bytearray()
