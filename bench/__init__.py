"""Benchmarks: synthetic captures (gen_mixed) and the timing harness (run)."""
