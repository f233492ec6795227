"""TLS segments out of order, as a mirror port (or a veth under load) delivers them: the
key-log path must still decrypt. tshark reassembles out-of-order segments only when asked
(tcp.reassemble_out_of_order); without it the TLS record boundaries are lost and the upload
is never seen — found when a recording on a loaded machine reordered a 300 KB upload."""

from __future__ import annotations

import struct

from dlp.capture.pcapfile import CaptureFile
from tests.tls.runs import alerts, replay
from tools import pcapgen
from tools.mitm_capture import SERVERS

ETH_IPV4 = b"\x08\x00"


def _upload_segment(frame: bytes) -> bool:
    """A client -> TLS server segment carrying data (IPv4, as the recordings are)."""
    if frame[12:14] != ETH_IPV4 or frame[23] != pcapgen.PROTO_TCP:
        return False
    ihl = (frame[14] & 0x0F) * 4
    tcp = frame[14 + ihl:]
    total = struct.unpack_from("!H", frame, 16)[0]
    return struct.unpack_from("!H", tcp, 2)[0] in SERVERS and total - ihl - (tcp[12] >> 4) * 4 > 0


def swap_upload_segments(src: str, dst: str) -> int:
    """Writes `src` with every two consecutive upload segments of a connection swapped (the
    later one first); returns how many pairs were swapped. Deterministic."""
    swapped = 0
    held: tuple | None = None  # an upload segment waiting for the next one of its connection
    with CaptureFile(src) as cap, pcapgen.PcapWriter(dst) as out:
        for ts, _linktype, frame, _wirelen in cap:
            if held is not None and _upload_segment(frame) and frame[26:38] == held[1][26:38]:
                out.write(ts / 1e6, frame)
                out.write(held[0] / 1e6, held[1])
                held, swapped = None, swapped + 1
                continue
            if held is not None:
                out.write(held[0] / 1e6, held[1])
                held = None
            if _upload_segment(frame):
                held = (ts, frame)
            else:
                out.write(ts / 1e6, frame)
        if held is not None:
            out.write(held[0] / 1e6, held[1])
    return swapped


def test_replay_decrypts_uploads_whose_segments_arrive_out_of_order(recording):
    result, d = recording
    pcap = str(d / "reordered.pcap")
    assert swap_upload_segments(result["pcap"], pcap) >= 9
    found = alerts(replay(d, pcap, "--keylog", result["keylog"]))
    cards = sorted(u["name"] for u in result["uploads"] if u["name"].startswith("cards-"))
    assert sorted(a["http"]["url"].lstrip("/") for a in found) == cards
