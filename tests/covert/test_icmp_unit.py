"""icmp_tunnel on hand-made echo messages: ordinary ping (Linux, Windows, any size, flood)
and ICMP errors stay quiet; tunnel magic, replies that differ, changing sizes and random
payloads alert; state stays bounded."""

from __future__ import annotations

import os
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.icmp_tunnel import IcmpTunnelDetector
from detectors.base import IcmpMessage
from dlp.errors import ConfigError
from dlp.rules import parse
from tests.covert.session_items import T0, US, by_rule, echo, info, ping_pair, run


def det(**kw) -> IcmpTunnelDetector:
    return IcmpTunnelDetector(IcmpTunnelDetector.Params(**kw))


def linux_payload(size: int, seq: int) -> bytes:
    """iputils ping: a struct timeval, then each byte is its own offset (mod 256)."""
    stamp = struct.pack("<qq", 1_700_000_000 + seq, 1000 * seq)[:size]
    return stamp + bytes(i & 0xFF for i in range(len(stamp), size))


def windows_payload(size: int) -> bytes:
    alphabet = b"abcdefghijklmnopqrstuvw"
    return (alphabet * (size // len(alphabet) + 1))[:size]


def pings(payload_for, count: int, ident=0x4242, gap=US, **kw) -> list:
    items = []
    for seq in range(1, count + 1):
        items += ping_pair(payload_for(seq), seq, T0 + seq * gap, ident=ident, **kw)
    return items


@pytest.mark.parametrize("size", [0, 8, 16, 56, 100, 1000, 1472, 8000, 65000])
def test_linux_ping_of_any_size_is_quiet(size):
    assert run(det(), pings(lambda s: linux_payload(size, s), 20)) == []


def test_windows_ping_default_and_large_runs_with_one_identifier_are_quiet():
    d = det()
    items = []
    for run_no, size in enumerate((32, 1000, 32, 1472)):  # Windows keeps ident 1 across runs
        items += pings(lambda s: windows_payload(size), 4, ident=1, gap=US + run_no)
    assert run(d, items) == []


def test_flood_ping_with_lost_replies_is_quiet():
    items = []
    for seq in range(1, 2001):
        p = linux_payload(56, seq)
        items.append(echo(p, seq=seq, ts=T0 + seq * 10_000))
        if seq % 7:  # some replies lost, as in a flood
            items.append(echo(p, request=False, seq=seq, ts=T0 + seq * 10_000 + 50))
    assert run(det(), items) == []


def test_pmtu_probes_and_frag_needed_errors_are_quiet():
    d = det()
    items = pings(lambda s: linux_payload(1472, s), 5)
    quoted = bytes(20) + b"\x08\x00\x00\x00\xde\xad\xc0\xde" + os.urandom(500)  # an error quoting a tunnel packet
    frag_needed = IcmpMessage(info("10.0.0.1", 0, "10.0.0.2", 0, "ICMP"), T0, 0, 4, 3, 4, 0, 1400, quoted)
    assert frag_needed.is_error and not d.applies(frag_needed)
    assert run(d, items + [frag_needed] * 5) == []


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 3000), count=st.integers(1, 40), windows=st.booleans())
def test_property_ordinary_ping_never_alerts(size, count, windows):
    payload = (lambda s: windows_payload(size)) if windows else (lambda s: linux_payload(size, s))
    assert run(det(), pings(payload, count)) == []


@pytest.mark.parametrize("magic", [0xDEADC0DE, 0xD5200880])
def test_ptunnel_magic_alerts_once_per_session(magic):
    header = struct.pack("!IIIIIIHH", magic, 0x0A000001, 22, 0, 0, 0, 1, 0x99)
    items = pings(lambda s: header + b"SSH-2.0-OpenSSH_9.2\r\n", 10)
    found = run(det(), items)
    assert by_rule(found) == {"icmp_tunnel.magic": 1}
    covert = found[0].objects["covert"]
    assert covert["magic"] == f"0x{magic:08X}" and covert["type"] == "icmp_tunnel"
    assert found[0].severity == 1 and found[0].signature_id == 2600001


def test_custom_magic_from_the_rules():
    items = pings(lambda s: b"\xca\xfe\xba\xbe" + bytes(40), 3)
    assert run(det(), items) == []
    assert by_rule(run(det(magics=("0xCAFEBABE",)), items)) == {"icmp_tunnel.magic": 1}


def test_replies_that_differ_from_requests_alert():
    items = []
    for seq in range(1, 6):
        items.append(echo(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", seq=seq, ts=T0 + seq * US))
        items.append(echo(b"HTTP/1.1 200 OK\r\n\r\nhello %d" % seq, request=False, seq=seq,
                          ts=T0 + seq * US + 100))
    found = run(det(), items)
    assert by_rule(found) == {"icmp_tunnel.behaviour": 1}
    assert "reply_differs" in found[0].objects["covert"]["indicators"]


def test_requests_changing_size_alert():
    rng = random.Random(5)
    items = pings(lambda s: bytes(rng.randrange(28, 1100)), 30)
    found = run(det(), items)
    assert by_rule(found) == {"icmp_tunnel.behaviour": 1}
    assert found[0].objects["covert"]["indicators"] == ["size_varies"]


def test_random_payloads_alert_but_short_ones_do_not():
    rng = random.Random(6)
    big = run(det(), pings(lambda s: rng.randbytes(512), 6))
    assert by_rule(big) == {"icmp_tunnel.behaviour": 1}
    assert big[0].objects["covert"]["indicators"] == ["random_payload"]
    assert run(det(), pings(lambda s: rng.randbytes(64), 20)) == []  # too short to judge


def test_ipv6_echo_is_inspected_too():
    items = pings(lambda s: b"\xde\xad\xc0\xde" + bytes(24), 2, version=6)
    assert by_rule(run(det(), items)) == {"icmp_tunnel.magic": 1}


def test_allow_hosts_silences_a_peer():
    items = pings(lambda s: b"\xde\xad\xc0\xde" + bytes(24), 4)
    assert run(det(allow_hosts=("10.0.0.0/24",)), items) == []


def test_alerts_again_after_the_interval():
    items = pings(lambda s: b"\xde\xad\xc0\xde" + bytes(24), 3, gap=40 * 60 * US)
    assert by_rule(run(det(), items)) == {"icmp_tunnel.magic": 2}  # 0, 40 min (quiet), 80 min


def test_state_is_bounded():
    d = det(max_sessions=16, max_pending=4)
    for ident in range(500):
        for seq in range(10):
            d.inspect(echo(linux_payload(56, seq), ident=ident, seq=seq, ts=T0 + seq))
    assert len(d.sessions) == 16 and d.sessions.evicted == 484
    assert all(len(s.pending) <= 4 for s in d.sessions.items.values())


def test_bad_settings_are_file_line_errors():
    with pytest.raises(ConfigError, match=r"<rules>:4: .*not a hexadecimal"):
        parse("version: 1\ndetectors:\n  icmp_tunnel:\n    magics: [zz]\n")
    with pytest.raises(ConfigError, match=r"<rules>:4: .*allow_hosts"):
        parse("version: 1\ndetectors:\n  icmp_tunnel:\n    allow_hosts: [not-an-ip]\n")


def test_replies_to_no_request_alert_and_a_few_lost_requests_do_not():
    items = pings(lambda s: linux_payload(56, s), 4)
    items += [echo(b"<html>" + bytes(50), request=False, seq=100 + n, ts=T0 + 10 * US + n) for n in range(10)]
    found = run(det(), items)
    assert by_rule(found) == {"icmp_tunnel.behaviour": 1}
    assert found[0].objects["covert"]["indicators"] == ["unsolicited_replies"]
    # a capture that missed a few requests of a long ping
    items = [i for i in pings(lambda s: linux_payload(56, s), 100) if not (i.is_echo_request and i.seq % 15 == 0)]
    assert run(det(), items) == []


def test_payloads_may_be_writable_buffers():
    """Live capture hands out views of a ring buffer; nothing here may need hashable bytes."""
    items = [echo(memoryview(bytearray(b"\xde\xad\xc0\xde" + bytes(200))), seq=1),
             echo(memoryview(bytearray(b"other" * 40)), request=False, seq=1)]
    assert by_rule(run(det(), items)) == {"icmp_tunnel.magic": 1}


def test_only_echo_is_inspected():
    d = det()
    for version, type_ in ((6, 135), (6, 134), (4, 13), (6, 1), (4, 11)):  # ND, RA, timestamp, errors
        msg = IcmpMessage(info("10.0.0.1", 0, "10.0.0.2", 0, "ICMP"), T0, 0, version, type_, 0, 0, 0,
                          b"\xde\xad\xc0\xde" + bytes(60))
        assert not d.applies(msg)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 8, 128, 129, 3, 11]), st.integers(0, 65535),
                          st.integers(0, 65535), st.binary(max_size=600), st.integers(-10**12, 10**16)),
                max_size=60))
def test_any_echo_sequence_is_handled(messages):
    d = det(max_sessions=4, max_pending=3)
    for type_, ident, seq, payload, ts in messages:
        version = 6 if type_ >= 128 else 4
        msg = IcmpMessage(info("10.0.0.2", 0, "10.0.0.1", 0, "ICMP"), ts, type_ in (0, 129), version,
                          type_, 0, ident, seq, payload)
        if d.applies(msg):
            assert all(f.detector == "icmp_tunnel" for f in d.inspect(msg))
    assert len(d.sessions) <= 4 and all(len(s.pending) <= 3 for s in d.sessions.items.values())
