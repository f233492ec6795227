"""Corpus suite: real-world captures from public test suites, read in place from
../shared/pcaps/public (MANIFEST.md there says what each holds and what Suricata and Zeek
expect). Every file must replay to its end; the TCP, encapsulation and fragment cases are
checked against those expectations. Run by .ci/run after the main suite (`make corpus`).

Where we deliberately differ from a reference engine, the test says so and why.
"""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess
import sys

import pytest

from tests.replaylib import replay

pytestmark = pytest.mark.corpus

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PUBLIC = os.environ.get("DLP_PUBLIC_PCAPS", os.path.join(ROOT, "..", "shared", "pcaps", "public"))
FILES = sorted(glob.glob(os.path.join(PUBLIC, "*.pcap")))


def test_corpus_is_present():
    # CI lays ../shared beside the clone; a missing corpus is a failure, not a skip
    assert len(FILES) >= 100, f"public captures not found in {PUBLIC}"


def pcap(name: str) -> str:
    return os.path.join(PUBLIC, name + ".pcap")


def one(flows):
    assert len(flows) == 1, [(f.cli, f.cport, f.srv, f.sport) for f in flows]
    return flows[0]


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_every_file_replays_to_its_end(path, tmp_path):
    r = subprocess.run([sys.executable, "-m", "dlp", "replay", path, "--eve", str(tmp_path / "e.json"),
                        "--write-streams", str(tmp_path / "s")], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "== dlp replay summary ==" in r.stdout


# -- 1. TCP reassembly, overlaps, gaps, state machine -------------------------------------

def test_overlap_exact_first_wins():
    f = one(replay(pcap("tcp-overlap-exact-good-evil")).with_data())
    assert f.stream(0) == b"GOOD" and f.vlan == (6,)
    assert f.anomalies["stream.overlap_different_data"] == 1


def test_overlap_partial_first_wins():
    f = one(replay(pcap("tcp-overlap-partial")).with_data())
    assert f.stream(0) == b"GOOD" and f.anomalies["stream.overlap_different_data"] == 1


def test_gap_in_the_middle_is_reported_not_bridged():
    f = one(replay(pcap("tcp-gap-middle")).with_data())
    assert f.stream(0) == b"VERYDATA" and f.gaps[0] == [4]


def test_leading_gap():
    f = one(replay(pcap("tcp-gap-leading")).with_data())
    assert f.stream(0) == b"GOODDATA" and f.gaps[0] == [4]


@pytest.mark.parametrize("name,forged", [("tcp-evasion-ts-baseline", 0), ("tcp-evasion-ts-linux", 2),
                                         ("tcp-evasion-ts-windows", 2)])
def test_forged_rst_fin_with_bad_timestamps_do_not_end_the_session(name, forged):
    result = replay(pcap(name))
    f = one(result.with_data())
    assert b"HTTP/1.1 200" in f.stream(1) and b"THIS_IS_A_TEST" in f.stream(1)
    assert f.anomalies.get("tcp.pkt_invalid_timestamp", 0) == forged


@pytest.mark.parametrize("name", ["tcp-split-handshake-4whs", "tcp-split-handshake-5whs"])
def test_split_handshakes_are_tracked(name):
    f = one(replay(pcap(name)).with_data())
    assert f.stream(0) == b"EVIL" and (f.cli, f.sport) == ("1.1.1.1", 80)


@pytest.mark.parametrize("name", ["tcp-midstream-http", "tcp-async-oneside-http"])
def test_midstream_and_one_sided_pickup(name):
    f = one(replay(pcap(name)).with_data())
    assert b"uid=0(root)" in f.stream(1) and f.sport == 80


def test_one_sided_client_only_without_syn():
    f = one(replay(pcap("tcp-async-oneside-nosyn-http")).with_data())
    assert f.stream(0).count(b"GET /") == 3 and f.stream(1) == b""


def test_one_sided_server_only_imap():
    f = one(replay(pcap("tcp-async-imap-server-only")).with_data())
    assert b"C6 OK ID completed\r\n* 21 EXISTS\r\n* 6 RECENT" in f.stream(1)


def test_rst_payload_is_not_stream_data():
    f = one(replay(pcap("tcp-rst-with-data")).with_data())
    assert f.stream(1) == b"Please Let Me In!" and b"Access Denied" not in f.stream(0)
    assert f.anomalies["stream.rst_with_data"] == 1


def test_unacked_data_before_rst_is_still_inspected():
    # Suricata counts no reassembly gap here; we report the 16-byte hole the capture really
    # has (segment 17..33 never seen) and still deliver what follows it.
    f = one(replay(pcap("tcp-rst-before-ack-http-gap")).with_data())
    assert b"User-Agent: Mozilla" in f.stream(0) and f.gaps[0] == [16]


def test_vlan_split_flow_joins_when_vlan_not_tracked():
    flows = replay(pcap("tcp-syn-retransmit-ts-vlan"), vlan_tracking=False).tcp()
    f = one([x for x in flows if x.sport == 80])
    assert b"/malware/ppt/mal/51f14eb6c874686e5f593132cf0f742d.ppt" in f.stream(0)
    assert f.stream(1).startswith(b"HTTP/1.1 200") and f.reason == "fin"


@pytest.mark.parametrize("policy,uri", [("inline", b"GET /malicXious "), ("oob", b"GET /malicious ")])
def test_urgent_byte_policy(policy, uri):
    f = one(replay(pcap("tcp-urgent-oob"), urgent_policy=policy).with_data())
    assert f.stream(0).startswith(uri)


def test_tcp_fast_open_syn_payload_enters_the_stream():
    flows = sorted(replay(pcap("tcp-fastopen-http")).with_data(), key=lambda f: f.cport)
    assert len(flows) == 2
    assert flows[0].stream(0).startswith(b"GET /index.php") and b" 302 " in flows[0].stream(1)[:20]
    assert flows[1].stream(0).startswith(b"GET //index.php?page=../../../etc/passwd")
    assert b" 200 " in flows[1].stream(1)[:20]


def test_response_first_midstream_gets_direction_from_port():
    f = one(replay(pcap("tcp-http-starts-with-response")).tcp())
    assert (f.cli, f.sport) == ("172.16.9.181", 80)
    assert f.bytes == [608, 1037]  # as Suricata: 608 bytes to server, 1037 to client


def test_injected_rst_does_not_seed_responder():
    f = one(replay(pcap("tcp-rst-inject-after-syn")).tcp())
    assert len(f.stream(0)) == 175 and len(f.stream(1)) == 0  # Zeek: orig 175, resp 0


def test_span_duplicates_never_appended_twice():
    result = replay(pcap("tcp-duplicate-packets-ssh"))
    f = one(result.with_data())
    assert f.stream(0).startswith(b"SSH-2.0-OpenSSH_7.9\r\n")
    assert f.stream(1).startswith(b"SSH-2.0-OpenSSH_7.6p1")
    assert "stream.overlap_different_data" not in f.anomalies and f.gaps == [[], []]
    # the same capture with every duplicate removed gives identical streams
    dedup = _dedup_copy(pcap("tcp-duplicate-packets-ssh"))
    g = one(replay(dedup).with_data())
    assert (g.stream(0), g.stream(1)) == (f.stream(0), f.stream(1))
    os.unlink(dedup)


def _dedup_copy(path: str) -> str:
    import struct
    import tempfile

    data = open(path, "rb").read()
    out, seen, pos = [data[:24]], set(), 24
    while pos + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        rec = data[pos : pos + 16 + caplen]
        if rec[16:] not in seen:
            seen.add(rec[16:])
            out.append(rec)
        pos += 16 + caplen
    fd, name = tempfile.mkstemp(suffix=".pcap")
    os.write(fd, b"".join(out))
    os.close(fd)
    return name


def test_missing_syn_sizes_match_zeek():
    f = one(replay(pcap("tcp-missing-syn-http")).tcp())
    assert (len(f.stream(0)), len(f.stream(1))) == (98, 9417) and f.reason == "fin"


def test_snaplen_truncated_payload_is_missing_bytes():
    f = one(replay(pcap("tcp-retransmit-truncated-caplen")).tcp())
    assert sum(f.missing) == 24257 and f.streams == [b"", b""]  # Zeek: missed_bytes 24257


def test_fin_before_synack_no_payload():
    f = one(replay(pcap("tcp-fin-retransmit")).tcp())
    assert f.streams == [b"", b""]


def test_reordered_handshake_direction():
    f = one(replay(pcap("tcp-handshake-reordered")).tcp())
    assert (f.cli, f.cport, f.srv, f.sport) == ("141.142.228.5", 59856, "192.150.187.43", 80)


def test_acked_but_missing_response_is_a_gap():
    f = one(replay(pcap("tcp-missing-end-data-http")).tcp())
    assert f.missing[1] == 2902 and f.reason == "fin"


EXPECTED_MD5 = {  # tcpflow's tests/test1.sh
    ("74.125.19.101", 80): "ae30a881", ("74.125.19.104", 80): "61051e41",
    ("192.168.1.102", 50955): "14e9c335", ("192.168.1.102", 50956): "78b80730",
}


def test_tcpflow_test1_streams_match_tcpflow():
    got = {}
    for f in replay(pcap("tcpflow-test1-http")).with_data():
        got[(f.cli, f.cport)] = hashlib.md5(f.stream(0)).hexdigest()[:8]
        got[(f.srv, f.sport)] = hashlib.md5(f.stream(1)).hexdigest()[:8]
    assert got == EXPECTED_MD5


def test_out_of_order_without_handshake_buffers_and_reports_gap():
    f = one(replay(pcap("tcpflow-out-of-order")).with_data())
    assert f.gaps[1] == [22] and len(f.stream(1)) > 0


def test_randomized_packet_order_gives_the_same_streams():
    a = one(replay(pcap("tcpflow-lines-ordered")).with_data())
    b = one(replay(pcap("tcpflow-lines-randomized")).with_data())
    assert (len(a.stream(0)), len(a.stream(1))) == (120, 1884)
    assert (b.stream(0), b.stream(1)) == (a.stream(0), a.stream(1))
    assert b.gaps == [[], []]


def test_checksum_offload_is_accepted():
    f = one(replay(pcap("chksum-offload-localhost-http")).tcp())
    assert (len(f.stream(0)), len(f.stream(1))) == (74, 432) and f.reason == "fin"


def test_tso_super_frames_are_accepted():
    flows = replay(pcap("http-post-large-tso-frames")).with_data()  # two connections, one POST each
    assert len(flows) == 2
    for f in flows:  # 32 KB frames; 61484-byte bodies after the headers
        assert f.stream(0).startswith(b"POST /hello") and len(f.stream(0)) > 61484 and not f.gaps[0]


# -- 4. Encapsulation ------------------------------------------------------------------------

def test_vlan_zero_is_a_vlan():
    assert one(replay(pcap("encap-vlan0-http")).tcp()).vlan == (0,)
    assert one(replay(pcap("encap-qinq0-http")).tcp()).vlan == (0, 0)


def test_three_stacked_vlans():
    vlans = sorted(f.vlan for f in replay(pcap("encap-vlan-3-layers")).flows)
    assert vlans == [(), (200, 300, 400)]


def test_flows_keyed_by_vlan_and_qinq():
    assert sorted(f.vlan for f in replay(pcap("encap-vlan-qinq-flows")).flows) == [(1, 10), (6,)]


def test_mpls_in_vlan_three_connections():
    flows = replay(pcap("encap-mpls-in-vlan")).tcp()
    assert len(flows) == 3 and all(f.srv == "65.65.65.65" and f.sport == 80 for f in flows)


def test_erspan_type1_inner_icmp_with_vlans():
    flows = replay(pcap("encap-erspan1-vlan")).flows
    assert sorted((f.vlan, f.cli) for f in flows if f.proto == 1) == [((999,), "100.95.2.201"),
                                                                      ((1011,), "100.95.2.201")]
    assert sum(sum(f.pkts) for f in flows) == 42


def test_erspan_type2_vlan_from_header():
    f = one([f for f in replay(pcap("encap-erspan2-vlan")).flows if f.proto == 1])
    assert f.vlan == (23,) and f.pkts == [2, 2] and {f.cli, f.srv} == {"23.0.0.2", "23.0.0.3"}


def test_erspan_type3_inner_dot1q():
    f = one([f for f in replay(pcap("encap-erspan3-dot1q")).flows if f.proto == 1])
    assert f.vlan == (10,) and f.pkts == [1, 1]


def test_plain_gre_inner_conversations():
    flows = replay(pcap("encap-gre-ssh-dns")).flows
    ssh = one([f for f in flows if f.proto == 6 and f.sport == 22])
    assert ssh.stream(0).startswith(b"SSH-") and ssh.stream(1).startswith(b"SSH-")
    dns = [d for f in flows if f.proto == 17 and f.sport == 53 for d in f.datagrams[0]]
    assert any(b"\x03www\x07gleeble\x03org" in d for d in dns)
    assert sum(1 for f in flows if f.proto == 17 and f.sport == 123) >= 1


def test_gre_udp_inner_payload():
    flows = replay(pcap("encap-gre-udp")).flows
    assert any(b"EVIL" in d for f in flows if f.proto == 17 for d in f.datagrams[0] + f.datagrams[1])


def test_vxlan_inner_http():
    f = one(replay(pcap("encap-vxlan-http")).with_data())
    assert b"GET /image/svg" in f.stream(0) and b"image/svg+xml" in f.stream(1)


def test_llc_snap_http():
    f = one(replay(pcap("encap-llc-snap-http")).with_data())
    assert f.stream(0).startswith(b"GET / ") and b"200" in f.stream(1)[:20]


# -- 5. IP fragmentation and IPv6 ---------------------------------------------------------------

def test_ipv4_fragment_overlap_event():
    assert replay(pcap("frag-ipv4-overlap")).decoder_events.get("ipv4.frag_overlap", 0) >= 1


def test_fragments_with_df_still_reassemble():
    r = replay(pcap("frag-ipv4-df-set"))
    assert r.decoder_events["ipv4.frag_with_df"] == 5


def test_inconsistent_fragments_flagged():
    assert replay(pcap("frag-ipv4-small-inconsistent")).decoder_events.get("ipv4.frag_size_inconsistent", 0) >= 1


def test_fragmented_syn_in_vlan():
    f = one(replay(pcap("frag-vlan-ipv4-tcp-syn")).tcp())
    assert f.vlan == (6,) and f.pkts == [1, 0]


def test_fragmented_ipv6_tcp_in_vlan():
    flows = replay(pcap("frag-vlan-ipv6-tcp")).tcp()
    assert flows and all(":" in f.cli for f in flows)


def test_max_size_datagram_from_1024_fragments():
    f = one(replay(pcap("frag-gre-ppp-max-ip")).flows)
    assert [len(d) for d in f.datagrams[0]] == [65507]


def test_ipv6_atomic_fragments_are_whole_packets():
    flows = [f for f in replay(pcap("ipv6-atomic-frag-http")).tcp() if f.sport == 80]
    assert len(flows) == 4 and all(f.srv == "2001:db8:1::1" for f in flows)


def test_ipv6_fragmented_dns_reassembled():
    sizes = sorted(len(d) for f in replay(pcap("ipv6-fragmented-dns")).flows for d in f.datagrams[1])
    assert 323 in sizes and 3230 in sizes  # UDP lengths 331 and 3238


def test_bogus_ip_length_counted_flow_still_usable():
    r = replay(pcap("malformed-truncated-ip-len"))
    assert r.errors["ipv4.trunc_pkt"] >= 4
    assert any(len(f.stream(0)) > 20000 for f in r.tcp())


# -- 6. Malformed, truncated ---------------------------------------------------------------

def test_too_small_headers_are_counted():
    errors = replay(pcap("malformed-tcp-udp-too-small")).errors
    assert errors["tcp.pkt_too_small"] == 2 and errors["udp.pkt_too_small"] == 4
    assert errors["gre.pkt_too_small"] == 2


def test_snaplen68_truncated_tcp_header_counted():
    r = replay(pcap("snaplen68-tcp-truncated-header"))
    assert r.errors == {"tcp.hlen_truncated": 1} and r.tcp()


def test_capture_cut_inside_last_record_stops_cleanly():
    r = replay(pcap("http-dll-downloads-file-cut-short"))
    assert r.truncated and r.packets == 2696


def test_decoder_anomalies_file():
    r = replay(pcap("malformed-decoder-anomalies"))
    assert r.errors == {"ipv4.trunc_pkt": 2} and r.packets == 48
