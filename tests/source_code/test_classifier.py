"""Classifier quality: the hand-written corpus (every language, every negative family),
snippets cut from real source files on this machine, and real non-code text. Figures are
printed (pytest -s) and asserted against floors."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest

from detectors.code.classifier import classify
from detectors.code.languages import LANGUAGES
from tests.source_code.corpus import NEGATIVES, POSITIVES
from tests.source_code.realdata import real_negatives, real_sources, windows

MIN_CONFIDENCE = 0.5  # the detector's default


def _detected(text: str, filename: str | None = None, min_lines: int = 15):
    r = classify(text, filename, min_lines)
    return r, (r.language if r.is_code and r.confidence >= MIN_CONFIDENCE else None)


def _cut(text: str, n: int) -> str:
    """The first n non-blank lines of text."""
    out, count = [], 0
    for line in text.split("\n"):
        out.append(line)
        count += bool(line.strip())
        if count >= n:
            break
    return "\n".join(out)


def test_corpus_covers_every_language_and_family():
    assert set(POSITIVES) == set(LANGUAGES)
    assert all(len(v) >= 3 for v in POSITIVES.values())
    assert {"prose", "email", "markdown", "html", "json", "csv", "yaml", "ini", "toml", "xml",
            "syslog", "nginx_access", "app_log", "java_stacktrace", "python_traceback",
            "go_panic", "minified_js", "base64"} <= set(NEGATIVES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_corpus_positives(lang):
    for i, text in enumerate(POSITIVES[lang]):
        r, got = _detected(text)
        assert got == lang, f"{lang}[{i}]: {r}"
        # cut to exactly 15 non-blank lines: still found (the default minimum)
        r15, got15 = _detected(_cut(text, 15))
        assert got15 == lang, f"{lang}[{i}] first 15 lines: {r15}"


@pytest.mark.parametrize("family", sorted(NEGATIVES))
def test_corpus_negatives(family):
    for i, text in enumerate(NEGATIVES[family]):
        r, got = _detected(text)
        assert got is None, f"{family}[{i}] taken for {got}: {r}"


def test_short_snippets_below_min_lines_are_not_reported():
    text = _cut(POSITIVES["python"][0], 10)
    assert not classify(text).is_code
    assert classify(text, min_lines=8).is_code


def test_extension_is_a_hint_not_a_verdict():
    prose = NEGATIVES["prose"][0]
    assert not classify(prose, "notes.py").is_code  # a .py name does not make prose code
    # an ambiguous C-family snippet leans to the language its name says
    java = POSITIVES["java"][2]
    assert classify(java, "Retry.java").language == "java"


def test_stack_trace_in_bug_report_is_not_source_but_code_next_to_it_is():
    report = ("Steps to reproduce: open the export page and click download.\n\n"
              + NEGATIVES["python_traceback"][0])
    assert not classify(report).is_code
    with_code = report + "\n\nThe function that fails:\n\n" + POSITIVES["python"][0]
    r = classify(with_code)
    assert r.is_code and r.language == "python" and r.lines >= 15


def test_markdown_with_a_long_code_block_is_source_short_examples_are_not():
    doc = NEGATIVES["markdown"][0]
    assert not classify(doc).is_code
    long_block = doc + "\n## Reference implementation\n\n```go\n" + POSITIVES["go"][0] + "```\n"
    r = classify(long_block)
    assert r.is_code and r.language == "go"


def test_minified_bundle_with_readable_header_is_not_source():
    bundle = "/**\n * @license MIT\n * Example Corp app bundle\n */\n" + NEGATIVES["minified_js"][0]
    assert not classify(bundle).is_code
    webpack = "/******/ (() => { // webpackBootstrap\n" + POSITIVES["javascript"][0]
    assert classify(webpack).reason == "bundled"


def test_real_source_snippets_recall():
    """Windows of 15, 20 and 30 non-blank lines cut from real files (comment/docstring
    windows excluded by an independent check); recall and language accuracy per language."""
    sources = real_sources()
    if sum(len(v) for v in sources.values()) < 50:
        pytest.fail("too few real source files on this machine")
    rng = random.Random(11)
    summary = {}
    for n in (15, 20, 30):
        per = defaultdict(Counter)
        for lang, files in sources.items():
            for path, text in files:
                for w in windows(text, n, 3, rng, python=lang == "python"):
                    _, got = _detected(w)
                    per[lang]["n"] += 1
                    per[lang]["found"] += got is not None
                    per[lang]["right"] += got == lang
        total = sum(c["n"] for c in per.values())
        found = sum(c["found"] for c in per.values())
        right = sum(c["right"] for c in per.values())
        summary[n] = (found / total, right / total, per)
        print(f"\n{n}-line real snippets: n={total} recall={found / total:.3f} "
              f"language accuracy={right / total:.3f}")
        for lang in LANGUAGES:
            c = per.get(lang)
            if c:
                print(f"  {lang:11s} n={c['n']:4d} recall={c['found'] / c['n']:.3f} "
                      f"accuracy={c['right'] / c['n']:.3f}")
    recall30, acc30, per30 = summary[30]
    assert recall30 >= 0.9 and acc30 >= 0.9
    recall15, acc15, _ = summary[15]
    assert recall15 >= 0.85 and acc15 >= 0.8
    for lang, c in per30.items():
        if c["n"] >= 20:
            assert c["right"] / c["n"] >= 0.8, (lang, dict(c))


def test_real_whole_files_are_found():
    sources = real_sources()
    if not sources:
        pytest.fail("no real source files on this machine")
    per = defaultdict(Counter)
    for lang, files in sources.items():
        for path, text in files:
            if sum(1 for ln in text.split("\n") if ln.strip()) < 40:
                continue
            _, got = _detected(text, path.rsplit("/", 1)[-1])
            per[lang]["n"] += 1
            per[lang]["right"] += got == lang
    total = sum(c["n"] for c in per.values())
    right = sum(c["right"] for c in per.values())
    print(f"\nwhole real files: n={total} accuracy={right / total:.3f} "
          + " ".join(f"{k}={c['right']}/{c['n']}" for k, c in sorted(per.items())))
    assert right / total >= 0.93


def test_real_non_code_has_no_false_positives():
    negatives = real_negatives()
    if sum(len(v) for v in negatives.values()) < 20:
        pytest.fail("too few real documents on this machine")
    fps = []
    for family, files in negatives.items():
        count = 0
        for path, text in files:
            _, got = _detected(text, path.rsplit("/", 1)[-1])
            if got:
                fps.append((family, path, got))
                count += 1
        print(f"\nreal {family}: files={len(files)} false positives={count}")
    assert fps == []


def test_synthetic_negatives_false_positive_rate_table():
    """Per negative family: how many of the corpus texts are reported (must be none), also
    at 15-line cuts of each."""
    for family, texts in sorted(NEGATIVES.items()):
        cuts = [_cut(t, 15) for t in texts] + texts
        reported = sum(_detected(t)[1] is not None for t in cuts)
        print(f"\nnegative {family}: texts={len(cuts)} false positives={reported}")
        assert reported == 0, family


def test_a_changelog_naming_functions_is_not_code():
    """A C library's changelog: every entry names functions, one a path glob ("http/*")
    that once opened a never-closing C comment and made the rest of the text comment."""
    entries = [f"   o evdns: fix_{i}(): free requests before name_servers_{i}() ({i:07x}a Some Author)"
               for i in range(40)]
    entries.insert(5, "   o test: http/*: update expected HTTP codes for body exceeds `max_body_size` (addf2b9 A. Author)")
    text = "Changes in version 2.1.12-stable (05 Jul 2020)\n\n fixes:\n" + "\n".join(entries) + "\n"
    assert _detected(text, "changelog")[1] is None
    code = "\n".join(f"static int count_{i}(const struct buf *b)\n{{\n    int n = b->len; /* bytes held,\n"
                     f"       not yet sent */\n    if (n < 0)\n        return -1;\n    return n + {i};\n}}\n"
                     for i in range(4))
    assert _detected(code, "count.c")[1] == "c_cpp"  # a comment opened after code still runs on
