"""TLS flows whose segments travel as IP fragments still reach tshark, as all their fragments
(dlp/tls/fragments.py: tshark reassembles them), on both key-log paths.

Unit part: FrameDecoder hands back every frame of a reassembled datagram, in capture order,
and keeps no more than the Defragmenter's limits. Recording part (root): the key-log test
capture rewritten with every TLS ClientHello and upload segment in IPv4 fragments, or in
IPv6 fragment headers (tests/tls/fragmented.py), decrypts and alerts as the original does.
"""

from __future__ import annotations

import os

import pytest

from dlp.decode.decoder import Decoder
from dlp.decode.packet import TCP
from dlp.tls.fragments import FrameDecoder
from tests.tls.fragmented import fragment_tls_segments
from tests.tls.runs import alerts, flow_records, replay, run_live
from tools import pcapgen

ETH = 1
SECOND = 1_000_000


def _ethernet(packet: bytes) -> bytes:
    kind = pcapgen.ETH_IPV6 if packet[0] >> 4 == 6 else pcapgen.ETH_IPV4
    return pcapgen.ether(pcapgen.CLIENT_MAC, pcapgen.SERVER_MAC, kind, packet)


def _segment(src: str, dst: str, payload: bytes, ident: int = 7) -> bytes:
    kw = {} if ":" in src else {"ident": ident}
    return pcapgen.ip(src, dst, TCP, pcapgen.tcp(40000, 443, 1, 1, "PA", payload), **kw)


def _fragments(src: str, dst: str, payload: bytes, size: int, ident: int = 7) -> list[bytes]:
    packet = _segment(src, dst, payload, ident)
    pieces = (pcapgen.fragment_ipv6(packet, size, ident=ident) if ":" in src
              else pcapgen.fragment_ipv4(packet, size))
    return [_ethernet(p) for p in pieces]


def _decode_all(decoder, frames: list[bytes], ts: int = SECOND) -> list:
    """decode() of each frame, a microsecond apart (a Decoder or a FrameDecoder)."""
    return [decoder.decode(ETH, frame, len(frame), ts + i) for i, frame in enumerate(frames)]


@pytest.mark.parametrize("src,dst", [("10.0.0.1", "10.0.0.2"), ("fd00::1", "fd00::2")])
def test_a_reassembled_segment_comes_with_all_its_fragment_frames(src, dst):
    payload = bytes(range(256)) * 6
    frames = _fragments(src, dst, payload, 400)
    assert len(frames) == 4
    order = [frames[2], frames[0], frames[3], frames[1]]  # any arrival order
    results = _decode_all(FrameDecoder(Decoder()), order)
    assert [pkt for pkt, _ in results[:3]] == [None] * 3
    pkt, records = results[3]
    assert pkt.proto == TCP and pkt.payload == payload
    assert [frame for _, frame, _ in records] == order  # as they arrived, timestamps kept
    assert [ts for ts, _, _ in records] == [SECOND + i for i in range(4)]


def test_an_unfragmented_packet_is_its_own_frame():
    frame = _ethernet(_segment("10.0.0.1", "10.0.0.2", b"hello"))
    pkt, records = FrameDecoder(Decoder()).decode(ETH, frame, len(frame), SECOND)
    assert pkt.payload == b"hello" and records == [(SECOND, frame, len(frame))]


def test_the_decoder_still_counts_and_reassembles_as_before():
    """The stand-in passes everything on: same packet, same Defragmenter state."""
    plain, wrapped = Decoder(), FrameDecoder(Decoder())
    frames = _fragments("10.0.0.1", "10.0.0.2", b"x" * 3000, 512)
    assert [p.payload for p in _decode_all(plain, frames) if p] == [
        p.payload for p, _ in _decode_all(wrapped, frames) if p]
    assert wrapped.decoder.defrag.pending() == plain.defrag.pending() == 0
    assert not wrapped.kept.datagrams and wrapped.kept.frame_bytes == 0


def test_kept_fragments_stay_within_the_defragmenters_limits():
    decoder = FrameDecoder(Decoder(defrag_timeout_us=10 * SECOND))
    decoder.kept.defrag.max_trackers = 5
    for ident in range(20):  # first fragments only: none of these datagrams completes
        first = _fragments("10.0.0.1", "10.0.0.2", b"y" * 1000, 512, ident=ident)[0]
        decoder.decode(ETH, first, len(first), SECOND + ident)
    assert len(decoder.kept.datagrams) == 5
    assert decoder.kept.frame_bytes == sum(d.nbytes for d in decoder.kept.datagrams.values())
    late = _fragments("10.0.0.1", "10.0.0.3", b"z" * 1000, 512, ident=99)[0]
    decoder.decode(ETH, late, len(late), 60 * SECOND)  # the others are older than the timeout
    assert len(decoder.kept.datagrams) == 1


# -- the key-log recording, fragmented --------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


@pytest.fixture(scope="module", params=["ipv4", "ipv6"])
def fragmented(request, recording, tmp_path_factory):
    result, _ = recording
    d = tmp_path_factory.mktemp(f"frag-{request.param}")
    pcap = str(d / "fragmented.pcap")
    count = fragment_tls_segments(result["pcap"], pcap, ipv6=request.param == "ipv6")
    assert count >= 18  # 9 ClientHellos and 9 uploads at least
    return result, d, pcap


def _cards(result) -> list[str]:
    return sorted(u["name"] for u in result["uploads"] if u["name"].startswith("cards-"))


@needs_root
def test_replay_decrypts_uploads_sent_in_fragments(fragmented):
    result, d, pcap = fragmented
    events = replay(d, pcap, "--keylog", result["keylog"])
    found = alerts(events)
    assert sorted(a["http"]["url"].lstrip("/") for a in found) == _cards(result)
    assert all(a["http"]["length"] == next(u["len"] for u in result["uploads"]
                                           if u["url"].endswith(a["http"]["url"])) for a in found)
    stats = [e for e in events if e["event_type"] == "stats"][-1]
    assert stats["dlp"]["anomalies"]["tls.keylog_decrypted"] == 9
    records = flow_records(events)
    assert {i for i, r in records.items() if r["flow"]["alerted"]} == {a["flow_id"] for a in found}


@needs_root
def test_live_pipeline_decrypts_uploads_sent_in_fragments(fragmented, tmp_path):
    result, _, pcap = fragmented
    summary, events = run_live(pcap, result["keylog"], tmp_path / "eve.json")
    assert sorted(a["http"]["url"].lstrip("/") for a in alerts(events)) == _cards(result)
    assert summary.anomalies["tls.keylog_decrypted"] == 9
