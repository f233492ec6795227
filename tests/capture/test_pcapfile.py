"""Capture files: pcap (both byte orders, micro/nanosecond), pcapng, and broken files."""

from __future__ import annotations

import os
import struct
import subprocess

import pytest

from dlp.capture.pcapfile import CaptureFile
from dlp.errors import CaptureError
from tools import pcapgen as g

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "pcaps", "demo", "curl-upload-key.pcap")


def records(path):
    with CaptureFile(path) as cap:
        return list(cap), cap.status


def frames(n=5):
    conv = g.TcpConversation(mss=100)
    return conv.handshake() + conv.client_send(b"x" * 250)[:n]


def write_pcap(path, endian="<", nano=False, recs=None):
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)]
    for ts, frame in recs or frames():
        sec = int(ts)
        frac = round((ts - sec) * (1e9 if nano else 1e6))
        out.append(struct.pack(endian + "IIII", sec, frac, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path, endian, nano):
    p = tmp_path / "x.pcap"
    write_pcap(p, endian, nano, [(1_700_000_000.123456, b"\x00" * 60)])
    (rec,), status = records(str(p))
    assert rec[0] == 1_700_000_000_123_456 and rec[1] == 1 and rec[3] == 60
    assert status.truncated is None


def test_pcapng_gives_same_records_as_pcap(tmp_path):
    ng = tmp_path / "demo.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", DEMO, str(ng)], check=True)
    a, _ = records(DEMO)
    b, status = records(str(ng))
    assert status.truncated is None and len(a) == len(b) > 0
    assert [(r[0], r[2], r[3]) for r in a] == [(r[0], r[2], r[3]) for r in b]


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def test_pcapng_nanosecond_resolution_and_two_interfaces(tmp_path):
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    tsresol = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)  # if_tsresol = 10^-9
    idb_ns = _block(1, struct.pack("<HHI", 1, 0, 65535) + tsresol)
    idb_raw = _block(1, struct.pack("<HHI", 101, 0, 65535))
    ts = 1_700_000_000_123_456_789
    epb0 = _block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, 60, 60) + b"\1" * 60)
    epb1 = _block(6, struct.pack("<IIIII", 1, 0, 5_000_000, 40, 1500) + b"\2" * 40)
    p = tmp_path / "ns.pcapng"
    p.write_bytes(shb + idb_ns + idb_raw + epb0 + epb1)
    (a, b), status = records(str(p))
    assert status.truncated is None
    assert a[0] == 1_700_000_000_123_456 and a[1] == 1 and a[3] == 60
    assert b[0] == 5_000_000 and b[1] == 101 and (len(b[2]), b[3]) == (40, 1500)


def test_snaplen_cut_records_report_wire_length(tmp_path):
    p = tmp_path / "snap.pcap"
    with g.PcapWriter(str(p), snaplen=100) as w:
        w.write(1.0, b"\x01" * 100, wirelen=1500)
    (rec,), _ = records(str(p))
    assert len(rec[2]) == 100 and rec[3] == 1500


@pytest.mark.parametrize("cut", [3, 10, 17])
def test_file_cut_short_stops_cleanly(tmp_path, cut):
    data = open(DEMO, "rb").read()
    p = tmp_path / "cut.pcap"
    p.write_bytes(data[:-cut])
    recs, status = records(str(p))
    assert status.truncated and "cut short" in status.truncated
    assert len(recs) == len(records(DEMO)[0]) - 1


def test_corrupt_record_length_stops_with_reason(tmp_path):
    data = bytearray(open(DEMO, "rb").read())
    struct.pack_into("<I", data, 24 + 8, 0x7FFFFFFF)  # first record's caplen
    p = tmp_path / "corrupt.pcap"
    p.write_bytes(bytes(data))
    recs, status = records(str(p))
    assert recs == [] and "corrupt record length" in status.truncated


@pytest.mark.parametrize("content", [b"", b"GIF89a" + b"\0" * 40, b"\xd4\xc3\xb2"])
def test_not_a_capture_raises_capture_error(tmp_path, content):
    p = tmp_path / "bad.pcap"
    p.write_bytes(content)
    with pytest.raises(CaptureError, match="not a pcap or pcapng file"):
        CaptureFile(str(p))


def test_unreadable_path_raises_capture_error(tmp_path):
    with pytest.raises(CaptureError, match="cannot open"):
        CaptureFile(str(tmp_path / "missing.pcap"))
