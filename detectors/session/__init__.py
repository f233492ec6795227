"""Helpers for the detectors that watch sessions rather than bytes (icmp_tunnel, beacon, spi):
bounded per-key state, alert rate limits, robust statistics, address lists."""
