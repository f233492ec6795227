"""beacon on hand-made connection events: jittered periodic check-ins alert with the score
parts; browsing, bursts, a single download, too few or too short series, ignored ports and
allow-listed pollers stay quiet; state stays bounded."""

from __future__ import annotations

import random

import pytest

from detectors.beacon import BeaconDetector, score_connections
from dlp.errors import ConfigError
from dlp.rules import parse
from tests.covert.session_items import T0, US, by_rule, connection, info, run


def det(**kw) -> BeaconDetector:
    return BeaconDetector(BeaconDetector.Params(**kw))


def series(starts, sizes, src="10.0.0.2", dst="10.0.0.1", dport=443) -> list:
    items = []
    for n, (start, size) in enumerate(zip(starts, sizes)):
        items += connection(info(src, 40000 + n, dst, dport), int(start), nbytes=(size // 3, size - size // 3))
    return items


def beacon(count=40, period=60.0, jitter=0.1, seed=1, size=900, **kw) -> list:
    rng = random.Random(seed)
    starts = [T0 + (i * period + rng.uniform(-jitter, jitter) * period) * US for i in range(count)]
    sizes = [size + rng.choice((0, 0, 3, 12)) for _ in starts]
    return series(starts, sizes, **kw)


@pytest.mark.parametrize("period,jitter", [(60, 0.0), (60, 0.1), (300, 0.2), (30, 0.3)])
def test_jittered_periodic_check_ins_alert_with_score_parts(period, jitter):
    found = run(det(), beacon(period=period, jitter=jitter))
    assert found and {f.rule for f in found} == {"beacon"}
    assert len(found) <= 1 + 40 * period // 3600  # once per alert_interval_seconds
    covert = found[0].objects["covert"]
    assert covert["type"] == "beacon" and covert["score"] >= 0.8
    assert set(covert) >= {"timing", "size", "histogram", "duration", "connections", "interval_median",
                           "size_median", "span", "dest_ports"}
    assert abs(covert["interval_median"] - period) < period * 0.2 and covert["dest_ports"] == [443]


def test_browsing_like_irregular_connections_do_not_alert():
    rng = random.Random(2)
    t, starts = T0, []
    for _ in range(80):
        t += int(rng.expovariate(1 / 45) * US)
        starts.append(t)
    sizes = [int(rng.lognormvariate(9, 1.5)) + 200 for _ in starts]
    assert run(det(), series(starts, sizes)) == []


def test_bursts_of_page_loads_do_not_alert():
    rng = random.Random(3)
    starts, t = [], T0
    for _ in range(12):
        t += int(rng.uniform(120, 1200) * US)
        starts += [t + int(rng.uniform(0, 20) * US) for _ in range(rng.randint(3, 12))]
    sizes = [rng.randint(400, 90000) for _ in starts]
    assert run(det(), series(starts, sizes)) == []


def test_random_arrivals_of_one_size_do_not_alert():
    """An API client with identical requests at random times scores high on size, histogram
    and duration; the regularity gate keeps it quiet (200 pairs, 25 connections each)."""
    rng = random.Random(4)
    items = []
    for pair in range(200):
        starts = sorted(T0 + rng.uniform(0, 3600) * US for _ in range(25))
        items += series(starts, [2864] * 25, src=f"10.1.{pair // 100}.{pair % 100 + 1}")
    assert run(det(), items) == []
    assert run(det(min_regularity=0.0, min_score=0.8), items)  # without the gates it would alert


def test_single_long_download_and_short_series_do_not_alert():
    one = connection(info(), T0, duration=3600 * US, nbytes=(500, 2_000_000_000))
    assert run(det(), one) == []
    assert run(det(), beacon(count=19)) == []  # under min_connections
    assert run(det(), beacon(count=40, period=10)) == []  # 390 s: under min_duration_seconds


def test_score_falls_when_the_beacon_covers_little_of_the_observation():
    quiet_first = connection(info("10.9.9.9", 1, "10.9.9.8", 80), T0 - 20 * 3600 * US)
    found = run(det(), quiet_first + beacon())
    assert found == []  # 40 minutes of a 21-hour watch
    parts = score_connections([(T0 + i * 60 * US, 900) for i in range(40)], 40 * 60 * US, 10)
    assert parts.score == pytest.approx(1.0, abs=0.01)  # a perfect beacon watched for its span


def test_monitoring_poller_alerts_unless_allowed_or_ignored():
    poller = beacon(period=60, jitter=0.01, src="10.0.0.50", dst="10.0.0.9", dport=9100)
    assert by_rule(run(det(), poller)) == {"beacon": 1}  # it is periodic: the score says so
    assert run(det(allow_sources=("10.0.0.50",)), poller) == []
    assert run(det(allow_destinations=("10.0.0.9:9100",)), poller) == []
    assert by_rule(run(det(allow_destinations=("10.0.0.9:443",)), poller)) == {"beacon": 1}
    ntp = beacon(period=64, jitter=0.0, dport=123)
    assert run(det(), ntp) == []  # NTP is in ignore_ports


def test_one_alert_per_pair_per_interval():
    found = run(det(), beacon(count=200, period=60))  # 200 min: at ~20 min, then once an hour
    assert by_rule(found) == {"beacon": 3}
    assert run(det(alert_interval_seconds=10**6), beacon(count=200)) and \
        by_rule(run(det(alert_interval_seconds=10**6), beacon(count=200))) == {"beacon": 1}


def test_state_is_bounded():
    d = det(max_pairs=8, max_samples=16, min_connections=12)  # max_samples below: the latest 16 kept
    for host in range(100):
        run(d, beacon(count=20, src=f"10.1.0.{host}"))
    assert len(d.pairs) == 8 and d.pairs.evicted == 92
    assert all(len(p.conns) <= 16 for p in d.pairs.items.values())


def test_bad_settings_are_file_line_errors():
    with pytest.raises(ConfigError, match=r"<rules>:4: .*min_score"):
        parse("version: 1\ndetectors:\n  beacon:\n    min_score: 2\n")
    with pytest.raises(ConfigError, match=r"<rules>:4: .*allow_destinations"):
        parse("version: 1\ndetectors:\n  beacon:\n    allow_destinations: ['10.0.0.1:99999']\n")
