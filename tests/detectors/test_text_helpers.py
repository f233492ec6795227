"""Shared text-scanning helpers: windows, masking, scoping."""

from __future__ import annotations

import random
import re

from detectors.text import mask, scope
from detectors.text.windows import windows
from tests.detectors.helpers import part, tx


def test_windows_find_every_match_exactly_once_across_boundaries():
    rng = random.Random(5)
    text = "".join(rng.choice("ab  ") for _ in range(50_000))
    rx = re.compile(r"(?<![ab])a[ab]{0,30}b(?![ab])")  # whole words of at most 32 characters
    expected = [(m.start(), m.group()) for m in rx.finditer(text)]
    assert len(expected) > 1000
    for size in (64, 100, 1000, 4096):
        got = []
        for win in windows(text, size, overlap=40, lead=40):
            got += [(win.base + m.start(), m.group()) for m in rx.finditer(win.chunk) if win.owns(m.start())]
        assert got == expected, size


def test_windows_memory_is_bounded_and_text_covered():
    text = "x" * 10_000
    wins = list(windows(text, 1000, overlap=50, lead=20))
    assert all(len(w.chunk) <= 1000 + 50 + 20 for w in wins)
    assert wins[0].own_start == 0 and wins[-1].own_end == len(text)
    assert all(a.own_end == b.own_start for a, b in zip(wins, wins[1:]))


def test_masking():
    assert mask.mask_pan("4539148803436467") == "453914******6467"
    assert mask.mask_pan("378282246310005") == "378282*****0005"
    assert mask.mask_pan("501800000009") == "5018****0009"
    assert mask.mask_middle("ghp_" + "a" * 34 + "Xy") == "ghp_\u2026Xy"
    assert mask.mask_middle("hunter2") == "h\u2026"  # short values show less
    assert len(mask.snippet("x" * 500)) <= 24
    assert mask.snippet("123-45-6789") == "123\u202689"


def test_keyed_hash_depends_on_the_key():
    assert mask.keyed_hash(b"k1", "v") != mask.keyed_hash(b"k2", "v")
    assert len(mask.keyed_hash(b"k1", "v")) == 64


def test_host_suffix_matching():
    domains = scope.normalize_domains(["Stripe.com", "*.adyen.com", ".paypal.com."])
    assert scope.host_matches("api.stripe.com", domains)
    assert scope.host_matches("stripe.com", domains)
    assert scope.host_matches("checkout.adyen.com", domains)
    assert not scope.host_matches("notstripe.com", domains)
    assert scope.host_of(tx("x", host="API.Stripe.com:8443")) == "api.stripe.com"
    assert scope.host_of(tx("x", host="[2001:db8::1]:443")) == "2001:db8::1"


def test_content_type_selection():
    t = tx(parts=[part("x", content_type="image/png; q=1")])
    assert scope.part_type(t.parts[0], t) == "image/png"
    assert not scope.type_selected("image/png", (), scope.DEFAULT_EXCLUDED_TYPES)
    assert scope.type_selected("text/csv", ("text/",), ())
    assert not scope.type_selected("application/json", ("text/",), ())
    assert scope.type_selected("", (), scope.DEFAULT_EXCLUDED_TYPES)
