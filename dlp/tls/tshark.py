"""TLS flows through tshark's TLS dissector with a key log.

tshark runs with the HTTP and HTTP/2 dissectors disabled, so every decrypted TLS record
reaches the generic `data` dissector, and prints one line per packet: the TCP stream, the
sender, and the decrypted bytes (`data.data`; several records of one packet in order).
The ClientHello of each stream names its client. One pass, streamed: tshark holds TLS
session state, never whole conversations, and the same parser serves a file
(decrypt_capture) and a live pipe (dlp/tls/live.py).

For a file, only the TLS flows' packets are copied to a temporary capture first (one per
link type), so clear-text traffic never goes through tshark. A segment that came in IP
fragments is copied as all of its fragments (dlp/tls/fragments.py); tshark reassembles them
(IP defragmentation forced on: a user's preferences file cannot turn it off).
"""

from __future__ import annotations

import binascii
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field

from dlp.capture.pcapfile import CaptureFile
from dlp.decode.decoder import Decoder
from dlp.decode.packet import TCP, ip_text
from dlp.errors import ConfigError
from dlp.tls.fragments import FrameDecoder

TSHARK = "tshark"
SNAPLEN = 262144
# client (ip text, port), server (ip text, port), as the ClientHello travelled
Tuple = tuple[str, int, str, int]
FIELDS = ("tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
          "tls.handshake.type", "data.data", "tcp.flags.fin", "tcp.flags.reset")
END = -1  # the direction of an item that says the connection ended (FIN both ways, or RST)
_TRUE = (b"1", b"True")


def tshark_command(keylog: str, source: list[str], live: bool = False) -> list[str]:
    """`source`: ["-r", FILE] or ["-i", "-"] (a pcap stream on stdin)."""
    if shutil.which(TSHARK) is None:
        raise ConfigError("tshark is not installed (apt-get install tshark): needed for --keylog")
    # segments out of order (a mirror port reorders; so does a veth under load) must still
    # reassemble: tshark leaves that off by default and then loses the TLS record boundaries
    cmd = [TSHARK, "-n", *source, "-o", f"tls.keylog_file:{keylog}", "-o", "ip.defragment:TRUE",
           "-o", "ipv6.defragment:TRUE", "-o", "tcp.reassemble_out_of_order:TRUE",
           "--disable-protocol", "http",
           "--disable-protocol", "http2", "-Y", "data.data or tls.handshake.type == 1 or tcp.flags.fin == 1 or tcp.flags.reset == 1",
           "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in FIELDS:
        cmd += ["-e", name]
    return cmd + (["-l"] if live else [])


@dataclass
class Decrypted:
    """Per-stream orientation, learnt from ClientHellos."""

    clients: dict[int, Tuple] = field(default_factory=dict)
    fins: dict[int, set] = field(default_factory=dict)  # stream -> directions that sent FIN
    bad_lines: int = 0

    def line(self, raw: bytes) -> list[tuple[int, Tuple, int, bytes]]:
        """One tshark line -> items (tcp stream, connection tuple, direction, bytes).
        Direction 0 is TLS client to server; END (no bytes) when the connection ended: a
        RST, or a FIN from both sides (after the bytes of the same packet)."""
        fields = raw.rstrip(b"\r\n").split(b"\t")
        if len(fields) != len(FIELDS) or not fields[0].isdigit():
            self.bad_lines += 1
            return []
        stream = int(fields[0])
        src = _last(fields[1] or fields[2]), int(_last(fields[3]) or 0)
        dst = _last(fields[4] or fields[5]), int(_last(fields[6]) or 0)
        if b"1" in fields[7].split(b",") and stream not in self.clients:
            self.clients[stream] = (src[0], src[1], dst[0], dst[1])
        tup = self.clients.get(stream)
        if tup is None:  # data before any ClientHello (or after the end): cannot be oriented
            self.bad_lines += 1 if fields[8] else 0
            return []
        direction = 0 if src == (tup[0], tup[1]) else 1
        out = []
        if fields[8]:
            try:
                out.append((stream, tup, direction, b"".join(binascii.unhexlify(h) for h in fields[8].split(b","))))
            except binascii.Error:
                self.bad_lines += 1
        if self._ends(stream, direction, fields):
            self.fins.pop(stream, None)
            del self.clients[stream]  # a later packet of it (a retransmission) is not data
            out.append((stream, tup, END, b""))
        return out

    def _ends(self, stream: int, direction: int, fields: list) -> bool:
        if _last(fields[10]).encode() in _TRUE:
            return True
        if _last(fields[9]).encode() in _TRUE:
            fins = self.fins.setdefault(stream, set())
            fins.add(direction)
            return len(fins) == 2
        return False


def _last(value: bytes) -> str:
    """The innermost of several values (tunnels: outer addresses come first)."""
    return value.rsplit(b",", 1)[-1].decode("ascii", "replace")


def decrypt_capture(capture: str, keylog: str):
    """Yields (tcp stream, connection tuple, direction, bytes) for every decrypted packet of
    `capture`, in capture order (a reused tuple gets a new stream number), and
    (stream, tuple, END, b"") when a connection ends."""
    parser = Decrypted()
    with tempfile.TemporaryFile() as err_file:  # stderr to a file: a full pipe would block tshark
        proc = subprocess.Popen(tshark_command(keylog, ["-r", capture]), stdout=subprocess.PIPE, stderr=err_file)
        try:
            for raw in proc.stdout:
                yield from parser.line(raw)
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            err_file.seek(0)
            raise ConfigError(f"tshark failed on the TLS flows: {err_file.read().decode(errors='replace').strip()[-500:]}")


def write_tls_captures(paths: list[str], tuples: set[Tuple], directory: str) -> list[str]:
    """Copies the packets of these TCP conversations (either direction) from the captures
    into `directory`, one classic pcap per link type; returns their paths. A fragmented
    packet is copied as the frames of all its fragments."""
    wanted = set()
    for cli, cport, srv, sport in tuples:
        wanted.add((cli, cport, srv, sport))
        wanted.add((srv, sport, cli, cport))
    outputs: dict[int, object] = {}
    try:
        for path in paths:
            decoder = FrameDecoder(Decoder())
            with CaptureFile(path) as cap:
                for ts, linktype, frame, wirelen in cap:
                    pkt, records = decoder.decode(linktype, frame, wirelen, ts)
                    if pkt is None or pkt.proto != TCP:
                        continue
                    if (ip_text(pkt.src), pkt.sport, ip_text(pkt.dst), pkt.dport) not in wanted:
                        continue
                    out = outputs.get(linktype)
                    if out is None:
                        out = outputs[linktype] = open(os.path.join(directory, f"tls-{linktype}.pcap"), "wb")
                        out.write(pcap_header(linktype))
                    for record in records:
                        out.write(pcap_record(*record))
    finally:
        for out in outputs.values():
            out.close()
    return [out.name for out in outputs.values()]


def pcap_header(linktype: int) -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, linktype)


def pcap_record(ts_us: int, frame: bytes, wirelen: int) -> bytes:
    sec, usec = divmod(ts_us, 1_000_000)
    return struct.pack("<IIII", sec, usec, len(frame), wirelen) + frame
