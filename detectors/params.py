"""Checks every detector's Params shares (called from their `__post_init__`): dlp.rules turns
the ValueError into a FILE:LINE error naming the detector."""

from __future__ import annotations


def check_positive(params, *names: str) -> None:
    """Each named field is at least 1."""
    for name in names:
        if getattr(params, name) < 1:
            raise ValueError(f"{name} must be positive")


def check_severity(params, *names: str) -> None:
    """Each named field is a severity: 1 (high) to 4 (low)."""
    for name in names:
        if not 1 <= getattr(params, name) <= 4:
            raise ValueError(f"{name} must be 1 (high) to 4 (low)")
