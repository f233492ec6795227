"""TLS flows through tshark's TLS dissector with a key log: only their packets are copied to
a temporary capture (one per link type), and one tshark run per capture both lists each
ClientHello (which TCP stream is which client) and follows every stream's decrypted bytes
(`-z follow,tls,raw`). Decryption is tshark's; what comes out is bytes per direction, in
the order they were sent.
"""

from __future__ import annotations

import binascii
import os
import shutil
import struct
import subprocess
import tempfile
from collections import defaultdict

from dlp.capture.pcapfile import CaptureFile
from dlp.decode.decoder import Decoder
from dlp.decode.packet import TCP, ip_text
from dlp.errors import ConfigError

TSHARK = "tshark"
SNAPLEN = 262144
_DATA_FIRST = frozenset(b"0123456789abcdef\t")
# client (ip text, port), server (ip text, port)
Tuple = tuple[str, int, str, int]


def write_tls_captures(paths: list[str], tuples: set[Tuple], directory: str) -> list[str]:
    """Copies the packets of these TCP conversations (either direction) from the captures
    into `directory`, one classic pcap per link type; returns their paths."""
    wanted = set()
    for cli, cport, srv, sport in tuples:
        wanted.add((cli, cport, srv, sport))
        wanted.add((srv, sport, cli, cport))
    outputs: dict[int, object] = {}
    try:
        for path in paths:
            decoder = Decoder()
            with CaptureFile(path) as cap:
                for ts, linktype, frame, wirelen in cap:
                    pkt = decoder.decode(linktype, frame, wirelen, ts)
                    if pkt is None or pkt.proto != TCP:
                        continue
                    if (ip_text(pkt.src), pkt.sport, ip_text(pkt.dst), pkt.dport) not in wanted:
                        continue
                    out = outputs.get(linktype)
                    if out is None:
                        out = outputs[linktype] = open(os.path.join(directory, f"tls-{linktype}.pcap"), "wb")
                        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, linktype))
                    sec, usec = divmod(ts, 1_000_000)
                    out.write(struct.pack("<IIII", sec, usec, len(frame), wirelen) + frame)
    finally:
        for out in outputs.values():
            out.close()
    return [out.name for out in outputs.values()]


def decrypt(capture: str, keylog: str, streams: int) -> dict[Tuple, list[list[tuple[int, bytes]]]]:
    """Decrypted bytes of every TLS connection in `capture` (at most `streams` TCP streams):
    {client/server tuple: [[(direction, bytes)...] per connection, in order]}, direction 0
    being client to server."""
    if shutil.which(TSHARK) is None:
        raise ConfigError("tshark is not installed (apt-get install tshark): needed for --keylog")
    cmd = [TSHARK, "-n", "-r", capture, "-o", f"tls.keylog_file:{keylog}", "-Y", "tls.handshake.type == 1",
           "-T", "fields", "-E", "separator=/t", "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src",
           "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport"]
    for i in range(streams):
        cmd += ["-z", f"follow,tls,raw,{i}"]
    with tempfile.TemporaryFile() as err_file:  # stderr to a file: a full pipe would block tshark
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err_file)
        clients, followed = _parse(proc.stdout)
        err_file.seek(0)
        err = err_file.read().decode(errors="replace")
    if proc.wait() != 0:
        raise ConfigError(f"tshark failed on the TLS flows: {err.strip()[-500:]}")
    out: dict[Tuple, list] = defaultdict(list)
    for stream, tup in sorted(clients.items()):
        node0, chunks = followed.get(stream, ("", []))
        client_first = node0 in (f"{tup[0]}:{tup[1]}", f"[{tup[0]}]:{tup[1]}")
        out[tup].append([(d if client_first else 1 - d, data) for d, data in chunks])
    return out


def _parse(lines) -> tuple[dict[int, Tuple], dict[int, tuple[str, list]]]:
    """tshark's output: ClientHello field lines, then one follow block per stream."""
    clients: dict[int, Tuple] = {}
    followed: dict[int, tuple[str, list]] = {}
    stream, node0, chunks = None, "", []
    in_blocks = False
    for raw in lines:
        if stream is not None and raw and raw[0] in _DATA_FIRST:
            # a chunk of data: node 0's unindented, node 1's after a tab
            try:
                chunks.append((1 if raw[0] == 9 else 0, binascii.unhexlify(raw.strip())))
            except binascii.Error:
                pass  # not data after all
            continue
        line = raw.decode("latin-1").rstrip("\n")
        if line.startswith("====="):
            in_blocks = True
            if stream is not None:
                followed[stream] = (node0, chunks)
            stream, node0, chunks = None, "", []
        elif not in_blocks:
            _client_line(line, clients)
        elif line.startswith("Filter: tcp.stream eq "):
            stream = int(line.rsplit(" ", 1)[1])
        elif line.startswith("Node 0: "):
            node0 = line[8:]
    return clients, followed


def _client_line(line: str, clients: dict[int, Tuple]) -> None:
    fields = line.split("\t")
    if len(fields) != 7 or not fields[0].isdigit():
        return
    stream, src4, src6, sport, dst4, dst6, dport = fields
    if int(stream) not in clients:  # a retransmitted ClientHello names the same stream
        clients[int(stream)] = ((src4 or src6).split(",")[-1], int(sport.split(",")[-1]),
                                (dst4 or dst6).split(",")[-1], int(dport.split(",")[-1]))  # inner when tunnelled
