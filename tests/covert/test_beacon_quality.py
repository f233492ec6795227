"""Measured detection quality of the beacon score on simulated 20-connection series (the
figures in docs/covert-icmp-beacon-spi.md): jittered beacons alert, random arrivals of
identical size do not. Seeded; prints the rates."""

from __future__ import annotations

import random

from detectors.beacon import BeaconDetector, score_connections

US = 1_000_000
DEFAULTS = BeaconDetector.Params()


def alerts(starts: list[float]) -> bool:
    starts = sorted(int(s * US) for s in starts)
    result = score_connections([(s, 2864) for s in starts], starts[-1] - starts[0], DEFAULTS.hist_bins)
    return result.score >= DEFAULTS.min_score and result.regularity >= DEFAULTS.min_regularity


def rate(series) -> float:
    series = list(series)
    return sum(map(alerts, series)) / len(series)


def test_recall_on_jittered_beacons_and_false_positives_on_random_arrivals():
    rng = random.Random(7)
    n = DEFAULTS.min_connections
    recall = {j: rate([i * 60 + rng.uniform(-j, j) * 60 for i in range(n)] for _ in range(1000))
              for j in (0.1, 0.2, 0.3)}

    def poisson():
        t, out = 0.0, []
        for _ in range(n):
            t += rng.expovariate(1 / 60)
            out.append(t)
        return out

    fp_poisson = rate(poisson() for _ in range(3000))
    fp_uniform = rate([rng.uniform(0, 3600) for _ in range(n)] for _ in range(3000))
    print(f"recall {recall}, false positives poisson {fp_poisson:.4f} uniform {fp_uniform:.4f}")
    assert recall[0.1] >= 0.99 and recall[0.2] >= 0.97 and recall[0.3] >= 0.8
    assert fp_poisson <= 0.002 and fp_uniform <= 0.002
