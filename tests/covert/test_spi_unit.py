"""spi on hand-made session events: each signature fires on its pattern, once per window,
and ordinary sessions, midstream pickups inside the grace, resumed idle sessions, a few
refused connections and answered DNS stay quiet; state stays bounded."""

from __future__ import annotations

import pytest

from detectors.spi import SIGNATURES, SpiDetector, scan_kind
from dlp.errors import ConfigError
from dlp.flow.tcp_state import invalid_flags
from dlp.rules import parse
from tests.covert.session_items import (
    ACK, FIN, PSH, RST, SYN, T0, URG, US, by_rule, connection, dns_answer_only, flow_event, info, run,
)


def det(**kw) -> SpiDetector:
    return SpiDetector(SpiDetector.Params(**kw))


def start_capture() -> list:
    """A first ordinary connection at T0: the detector's clock starts here."""
    return connection(info("10.0.0.9", 50000, "10.0.0.1", 443), T0)


def scan(flags: int, ports, src="10.0.0.66", dst="10.0.0.1", at=T0 + 120 * US, answer=(RST | ACK,)):
    items = []
    for n, port in enumerate(ports):
        f = info(src, 60000, dst, port)
        ts = at + n * 1000
        items.append(flow_event("open", f, ts, first_flags=flags))
        bad = invalid_flags(flags)  # what the flow engine raises for this segment
        if bad:
            items.append(flow_event("anomaly", f, ts, first_flags=flags, name=bad))
        items.append(flow_event("close", f, ts + 500, start=ts, first_flags=flags, reason="rst",
                                tcp_flags=(flags, answer[0])))
    return items


def test_ordinary_sessions_raise_nothing():
    items = []
    for n in range(300):
        items += connection(info("10.0.0.2", 40000 + n, "10.0.0.1", 80 + n % 3), T0 + n * 10_000)
    assert run(det(), items) == []


@pytest.mark.parametrize("flags,kind", [(SYN, "syn"), (0, "null"), (FIN, "fin"),
                                        (FIN | PSH | URG, "xmas"), (SYN | FIN, "other")])
def test_port_scans_by_kind(flags, kind):
    assert scan_kind(flags) == kind
    found = run(det(), start_capture() + scan(flags, range(1, 1001)))
    assert by_rule(found)[f"spi.port_scan_{kind}"] == 1
    alert = next(f for f in found if f.rule == f"spi.port_scan_{kind}")
    assert alert.objects["spi"]["distinct_ports"] == 15 and alert.signature == SIGNATURES[f"port_scan_{kind}"][1]
    if flags != SYN:
        assert by_rule(found)["spi.invalid_flags"] == 1  # one per source/destination


def test_a_few_refused_connections_are_not_a_scan():
    assert run(det(), start_capture() + scan(SYN, range(1, 15))) == []
    # fifteen attempts at one closed port: one service, not a scan
    assert run(det(), start_capture() + scan(SYN, [8080] * 100)) == []


def test_syn_flood_counts_half_open_per_service_and_established_ones_leave():
    flood = []
    for n in range(400):
        f = info(f"198.51.100.{n % 250}", 1024 + n, "10.0.0.1", 80)
        flood.append(flow_event("open", f, T0 + n * 1000, first_flags=SYN))
    found = run(det(), flood)
    assert by_rule(found) == {"spi.syn_flood": 1}
    assert found[0].objects["spi"]["half_open"] == 200
    # the same rate of handshakes that complete is a busy server
    busy = []
    for n in range(400):
        busy += connection(info(f"198.51.100.{n % 250}", 1024 + n, "10.0.0.1", 80), T0 + n * 1000)
    assert run(det(), busy) == []


def test_ack_with_no_session_after_the_grace_answered_by_rst():
    f = info("10.0.0.66", 5555, "10.0.0.1", 22)
    late = [flow_event("open", f, T0 + 90 * US, first_flags=ACK),
            flow_event("established", f, T0 + 90 * US, first_flags=ACK, midstream=True),
            flow_event("close", f, T0 + 91 * US, start=T0 + 90 * US, first_flags=ACK, pkts=(1, 1),
                       tcp_flags=(ACK, RST))]
    found = run(det(), start_capture() + late)
    assert by_rule(found) == {"spi.no_session": 1}
    assert found[0].objects["spi"]["peer_answer"] == "rst"
    early = [flow_event(e.kind, e.flow, e.ts - 60 * US, start=e.start - 60 * US, first_flags=ACK,
                        pkts=e.pkts, tcp_flags=e.tcp_flags) for e in late]
    assert run(det(), start_capture() + early) == []  # inside the midstream grace
    resumed = [*late[:2], flow_event("close", f, T0 + 95 * US, start=T0 + 90 * US, first_flags=ACK,
                                     pkts=(5, 5), tcp_flags=(ACK | PSH, ACK | PSH))]
    assert run(det(), start_capture() + resumed) == []  # an idle session resumed: answered
    silent = [*late[:2], flow_event("close", f, T0 + 95 * US, start=T0 + 90 * US, first_flags=ACK,
                                    pkts=(4, 0), tcp_flags=(ACK | PSH, 0))]
    assert run(det(), start_capture() + silent) == []  # a filter, or a one-sided mirror


def test_fin_without_ack_after_a_syn_is_a_quirk_not_an_alert():
    f = info("10.0.0.2", 40000, "10.0.0.1", 443)
    quirk = flow_event("anomaly", f, T0 + US, name="tcp.fin_without_ack", first_flags=SYN)
    assert run(det(), start_capture() + [quirk]) == []
    probe = flow_event("anomaly", f, T0 + US, name="tcp.fin_without_ack", first_flags=FIN)
    assert by_rule(run(det(), start_capture() + [probe])) == {"spi.invalid_flags": 1}


def test_injection_and_invalid_flag_anomalies_name_the_sender():
    f = info("10.0.0.2", 40000, "10.0.0.1", 80)
    items = start_capture() + [
        flow_event("anomaly", f, T0 + US, name="tcp.rst_out_of_window", direction=1),
        flow_event("anomaly", f, T0 + US, name="tcp.data_out_of_window", direction=0),
        flow_event("anomaly", f, T0 + US, name="tcp.syn_rst", direction=0),
        flow_event("anomaly", f, T0 + US, name="tcp.invalid_flags_synfin", direction=0),
        flow_event("anomaly", f, T0 + US, name="stream.overlap_different_data", direction=0)]
    found = run(det(), items)
    # one invalid_flags alert per flag combination
    assert by_rule(found) == {"spi.rst_out_of_window": 1, "spi.data_out_of_window": 1, "spi.invalid_flags": 2}
    rst = next(x for x in found if x.rule == "spi.rst_out_of_window")
    assert rst.direction == 1 and rst.objects["spi"]["anomaly"] == "tcp.rst_out_of_window"


def test_dns_answer_without_query_after_the_grace():
    items = start_capture() + [dns_answer_only(T0 + 10 * US), dns_answer_only(T0 + 100 * US),
                               dns_answer_only(T0 + 101 * US)]
    found = run(det(), items)
    assert by_rule(found) == {"spi.dns_answer_without_query": 1}


def test_rate_limit_and_allow_and_event_selection():
    f = info("10.0.0.2", 40000, "10.0.0.1", 80)
    rsts = [flow_event("anomaly", f, T0 + n * 60 * US, name="tcp.rst_out_of_window") for n in range(20)]
    assert by_rule(run(det(), rsts)) == {"spi.rst_out_of_window": 4}  # 19 minutes, one per 5
    assert run(det(allow_sources=("10.0.0.0/24",)), rsts) == []
    assert run(det(events=("syn_flood",)), rsts) == []


def test_state_is_bounded():
    d = det(max_hosts=32, max_flows=64)
    for n in range(5000):
        f = info(f"10.{n % 200}.{n // 200}.1", 1000 + n, f"10.9.{n % 100}.1", n % 1000 + 1, flow_id=n)
        for item in connection(f, T0 + n * 100, established=n % 2 == 0):
            d.inspect(item)
    assert len(d.half_open) <= 32 and len(d.scanned) <= 32 and len(d.established) <= 64
    assert len(d.limiter.last) <= 32


def test_bad_settings_are_file_line_errors():
    with pytest.raises(ConfigError, match=r"<rules>:4: .*unknown event 'nope'"):
        parse("version: 1\ndetectors:\n  spi:\n    events: [nope]\n")
    with pytest.raises(ConfigError, match=r"<rules>:4: .*max_tracked"):
        parse("version: 1\ndetectors:\n  spi:\n    max_tracked: 10\n")


def test_dns_is_only_taken_when_its_event_is_on():
    assert det().inputs == frozenset({"flow", "dns"})
    assert det(events=("syn_flood", "no_session")).inputs == frozenset({"flow"})
