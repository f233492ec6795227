"""Winnowed fingerprints: a leaked, renamed and reformatted fragment names its repository and
file; unrelated code does not match; the index file round-trips and rejects damage."""

from __future__ import annotations

import glob
import os
import random
import re
import shutil

import pytest

from detectors.code import fingerprint as F
from tests.source_code.corpus import POSITIVES
from tests.source_code.mutate import rename_and_reformat

STD = "/root/.pyenv/versions/3.11.7/lib/python3.11"
REPO_A = ("shutil", "tarfile", "zipfile", "argparse", "csv", "gzip")
REPO_B = ("ftplib", "smtplib", "imaplib", "poplib", "calendar")
THRESHOLD = 0.35  # the detector's default fingerprint_min_similarity


def _stdlib_available() -> bool:
    return all(os.path.exists(f"{STD}/{m}.py") for m in REPO_A + REPO_B)


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    if not _stdlib_available():
        pytest.fail("Python stdlib sources not found")
    root = tmp_path_factory.mktemp("repos")
    a, b = root / "payments", root / "mailer"
    for d, mods in ((a, REPO_A), (b, REPO_B)):
        (d / "src" / "pkg").mkdir(parents=True)
        for m in mods:
            shutil.copy(f"{STD}/{m}.py", d / "src" / "pkg" / f"{m}.py")
    # things the index must skip
    (a / ".git").mkdir()
    shutil.copy(f"{STD}/json/decoder.py", a / ".git" / "decoder.py")
    (a / "node_modules" / "lib").mkdir(parents=True)
    shutil.copy(f"{STD}/json/encoder.py", a / "node_modules" / "lib" / "encoder.py")
    (a / "blob.py").write_bytes(b"\x00\x01binary" * 100)
    (a / "huge.py").write_text("x = 1\n" * 200_000)  # > 1 MB
    (a / "README.md").write_text("# payments\n")
    (b / "tool").write_text("#!/bin/sh\necho hello\n")  # a script without extension: indexed
    return [("payments", str(a)), ("mailer", str(b))]


@pytest.fixture(scope="module")
def index(repos, tmp_path_factory):
    idx = F.build_index(repos)
    path = tmp_path_factory.mktemp("idx") / "code.fp"
    idx.save(str(path))
    return F.FingerprintIndex.load(str(path))


def _fragments(text: str, n: int, rng: random.Random, count: int):
    """`n`-line fragments starting at a def (how code is copied: whole functions)."""
    lines = text.split("\n")
    starts = [i for i, ln in enumerate(lines) if re.match(r"\s*def ", ln) and i + n < len(lines)]
    rng.shuffle(starts)
    for i in starts[:count]:
        indent = len(lines[i]) - len(lines[i].lstrip())
        yield "\n".join(ln[indent:] if not ln[:indent].strip() else ln for ln in lines[i:i + n])


def test_index_contents_and_skips(index):
    paths = {p for _, p in index.docs}
    assert "src/pkg/shutil.py" in paths and "src/pkg/ftplib.py" in paths
    assert "tool" in paths
    assert not any(p.startswith((".git/", "node_modules/")) for p in paths)
    assert "blob.py" not in paths and "huge.py" not in paths and "README.md" not in paths
    assert index.stats.skipped_binary >= 1 and index.stats.skipped_large >= 1
    assert len(index) > 1000 and index.k == F.K and index.w == F.W


def test_leaked_fragment_renamed_and_reformatted_is_matched(index):
    rng = random.Random(3)
    sims, total, right = [], 0, 0
    for repo, mods in (("payments", REPO_A), ("mailer", REPO_B)):
        for m in mods:
            with open(f"{STD}/{m}.py", encoding="utf-8") as fh:
                text = fh.read()
            for frag in _fragments(text, 30, rng, 4):
                leaked = rename_and_reformat(frag)
                assert leaked != frag
                found = index.match(leaked)
                total += 1
                ok = found is not None and found.repo == repo and found.path == f"src/pkg/{m}.py" \
                    and found.similarity >= THRESHOLD
                right += ok
                sims.append(found.similarity if ok else 0.0)
    sims.sort()
    print(f"\nleaked 30-line fragments (renamed+reformatted): {right}/{total} matched, "
          f"similarity min={sims[0]:.2f} p10={sims[len(sims) // 10]:.2f} "
          f"median={sims[len(sims) // 2]:.2f}")
    assert right / total >= 0.9


def test_one_leak_in_detail(index):
    with open(f"{STD}/tarfile.py", encoding="utf-8") as fh:
        text = fh.read()
    start = text.index("    def _init_write_gz(self")
    frag = "\n".join(text[start:].split("\n")[:30])
    leaked = rename_and_reformat(frag, prefix="renamed")
    assert "renamed" in leaked
    found = index.match(leaked)
    assert found is not None
    assert (found.repo, found.path) == ("payments", "src/pkg/tarfile.py")
    assert found.similarity >= 0.6 and found.shared >= 3
    repo, path, similarity = found[:3]
    assert repo == "payments"


def test_unrelated_code_scores_low(index):
    rng = random.Random(5)
    skip = set(REPO_A + REPO_B)
    sims = []
    for path in sorted(glob.glob(f"{STD}/*.py")):
        if os.path.basename(path)[:-3] in skip:
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for frag in _fragments(text, 30, rng, 2):
            found = index.match(frag)
            sims.append(found.similarity if found else 0.0)
    for lang, snippets in POSITIVES.items():
        for s in snippets:
            found = index.match(s)
            sims.append(found.similarity if found else 0.0)
    sims.sort()
    above = sum(s >= THRESHOLD for s in sims)
    print(f"\nunrelated fragments: n={len(sims)} max similarity={sims[-1]:.2f} "
          f"p99={sims[int(len(sims) * 0.99)]:.2f} above {THRESHOLD}: {above}")
    assert above == 0


def test_normalisation_ignores_names_comments_layout_and_semicolons():
    a = "function total(items) { // sum\n  let s = 0;\n  for (const it of items) { s += it.price; }\n  return s;\n}"
    b = "function sum(xs){let acc=0\nfor(const x of xs){acc+=x.price}\n/* done */ return acc}"
    assert F.tokens(a) == F.tokens(b)
    assert F.tokens("f(a, b,)") == F.tokens("f(a, b)")
    assert F.tokens("x = 'a'") == F.tokens('x = "b"')


def test_save_load_round_trip_and_damage(index, tmp_path):
    path = tmp_path / "i.fp"
    index.save(str(path))
    again = F.FingerprintIndex.load(str(path))
    assert again.docs == index.docs and list(again.hashes) == list(index.hashes)
    assert list(again.postings) == list(index.postings)
    data = path.read_bytes()
    (tmp_path / "cut.fp").write_bytes(data[:-5])
    with pytest.raises(ValueError):
        F.FingerprintIndex.load(str(tmp_path / "cut.fp"))
    (tmp_path / "junk.fp").write_bytes(b"not an index")
    with pytest.raises(ValueError):
        F.FingerprintIndex.load(str(tmp_path / "junk.fp"))
    assert not data[:64].startswith(b"\x80")  # not a pickle


def test_posting_lists_are_capped(tmp_path):
    for i in range(6):
        d = tmp_path / f"r{i}"
        d.mkdir()
        (d / "common.py").write_text(POSITIVES["python"][1])
    idx = F.build_index([(f"r{i}", str(tmp_path / f"r{i}")) for i in range(6)], max_postings=4)
    assert idx.stats.boilerplate > 0
    assert max(idx.offsets[i + 1] - idx.offsets[i] for i in range(len(idx))) <= 4
    assert idx.match(POSITIVES["python"][1]) is None  # boilerplate names no file


def test_cli_build_and_match(repos, tmp_path, capsys):
    out = tmp_path / "cli.fp"
    assert F.main(["build", str(out)] + [f"{n}={d}" for n, d in repos]) == 0
    snippet = tmp_path / "s.py"
    with open(f"{STD}/smtplib.py", encoding="utf-8") as fh:
        text = fh.read()
    start = text.index("    def ehlo(self")
    snippet.write_text("\n".join(text[start:].split("\n")[:30]))
    capsys.readouterr()
    assert F.main(["match", str(out), str(snippet)]) == 0
    assert '"path": "src/pkg/smtplib.py"' in capsys.readouterr().out
