"""Hostile input: any sequence of session events (random kinds, flags, names, counters,
times going backwards, unknown flow ids) and DNS answers never makes spi or beacon raise,
and their state stays within its caps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.base import DnsTransaction, FlowEvent, FlowInfo
from detectors.beacon import BeaconDetector
from detectors.spi import SpiDetector

ips = st.sampled_from(["10.0.0.1", "10.0.0.2", "192.0.2.7", "2001:db8::1", "not-an-ip", ""])
flows = st.builds(FlowInfo, st.integers(0, 50), st.sampled_from(["TCP", "UDP", "ICMP"]), ips,
                  st.integers(0, 65535), ips, st.integers(0, 65535))
pairs = st.tuples(st.integers(0, 2**32), st.integers(0, 2**32))
events = st.builds(
    FlowEvent, st.sampled_from(["open", "established", "anomaly", "close", "bogus"]), flows,
    st.integers(-10**12, 10**16), st.integers(-10**12, 10**16),
    st.sampled_from(["", "tcp.rst_out_of_window", "tcp.data_out_of_window", "tcp.syn_fin",
                     "tcp.fin_without_ack", "tcp.invalid_flags_x", "stream.whatever"]),
    st.integers(0, 1), st.integers(0, 0xFFF), st.text(max_size=5), st.booleans(), st.text(max_size=5),
    pairs, pairs, st.tuples(st.integers(0, 0xFFF), st.integers(0, 0xFFF)))
answers = st.builds(DnsTransaction, flows, st.integers(-10**12, 10**16), st.none(), st.none())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(events, answers), max_size=80))
def test_any_event_sequence_is_handled(items):
    spi = SpiDetector(SpiDetector.Params(max_hosts=4, max_flows=4, max_tracked=200,
                                         syn_flood_half_open=3, scan_min_ports=2))
    beacon = BeaconDetector(BeaconDetector.Params(max_pairs=3, min_connections=4, min_duration_seconds=1,
                                                  max_samples=8))
    for item in items:
        for det in (spi, beacon):
            if det.applies(item):
                for finding in det.inspect(item):
                    assert finding.detector == det.name
    assert len(spi.established) <= 4 and len(spi.half_open) <= 4 and len(spi.scanned) <= 4
    assert len(beacon.pairs) <= 3
