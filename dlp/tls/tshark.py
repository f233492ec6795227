"""TLS flows through tshark's TLS dissector with a key log: only their packets are copied to
a temporary capture (one per link type), and one tshark run per capture both lists each
ClientHello (which TCP stream is which client) and follows every stream's decrypted bytes
(`-z follow,tls,raw`). Decryption is tshark's; what comes out is bytes per direction, in
the order they were sent.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections import defaultdict

from dlp.capture.pcapfile import CaptureFile
from dlp.decode.decoder import Decoder
from dlp.decode.packet import TCP, ip_text
from dlp.errors import ConfigError

TSHARK = "tshark"
SNAPLEN = 262144
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
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    clients, followed = _parse(proc.stdout)
    err = proc.stderr.read()
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
    for line in lines:
        line = line.rstrip("\n")
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
        elif line and stream is not None and not line.startswith(("Follow:", "Node 1:")):
            # node 0's data unindented, node 1's after a tab
            chunks.append((1 if line[0] == "\t" else 0, bytes.fromhex(line.strip())))
    return clients, followed


def _client_line(line: str, clients: dict[int, Tuple]) -> None:
    fields = line.split("\t")
    if len(fields) != 7 or not fields[0].isdigit():
        return
    stream, src4, src6, sport, dst4, dst6, dport = fields
    if int(stream) not in clients:  # a retransmitted ClientHello names the same stream
        clients[int(stream)] = ((src4 or src6).split(",")[-1], int(sport.split(",")[-1]),
                                (dst4 or dst6).split(",")[-1], int(dport.split(",")[-1]))  # inner when tunnelled
