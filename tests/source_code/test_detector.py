"""The source_code detector on HTTP transactions: uploads in JSON, forms, multipart and zip
members; directions, hosts, languages; fingerprint matches; rules validation; throughput."""

from __future__ import annotations

import json
import os
import shutil
from urllib.parse import quote_plus

import pytest

from detectors.base import TOCLIENT, TOSERVER, BodyPart, FlowInfo, HttpTransaction
from detectors.code import fingerprint as F
from detectors.source_code import SourceCodeDetector, SourceCodeParams
from dlp.rules import parse
from tests.source_code.corpus import NEGATIVES, POSITIVES

STD = "/root/.pyenv/versions/3.11.7/lib/python3.11"
SNIPPET = os.path.join(os.path.dirname(__file__), "..", "..", "detectors", "code",
                       "default_rules_snippet.yaml")


def tx(*parts: BodyPart, direction=TOSERVER, host="upload.example.net", content_type=None):
    return HttpTransaction(
        flow=FlowInfo(1, "TCP", "10.0.0.2", 50000, "203.0.113.9", 80), direction=direction,
        method="POST", uri="/upload", host=host, status=200, request_headers=(),
        response_headers=(), content_type=content_type, parts=parts, ts=0)


def part(text, filename=None, path=(), content_type="text/plain", name=None):
    return BodyPart(data=text.encode(), text=text, path=path, name=name, filename=filename,
                    content_type=content_type)


def run(det, t):
    return det.inspect(t) if det.applies(t) else []


@pytest.fixture
def det():
    return SourceCodeDetector(SourceCodeParams())


def test_file_upload_every_language(det):
    for lang, snippets in POSITIVES.items():
        for s in snippets:
            found = run(det, tx(part(s, filename="upload.txt", path=("multipart:file",))))
            assert len(found) == 1, lang
            f = found[0]
            assert f.detector == "source_code" and f.signature_id == 2300001 and f.severity == 2
            assert f.extra["language"] == lang and f.extra["lines"] >= 15
            assert f.extra["files"] == ["upload.txt"] and 0.5 <= f.extra["confidence"] <= 1
            assert "fingerprint" not in f.extra


def test_snippet_in_json_body_escaped_and_decoded(det):
    code = POSITIVES["go"][1]
    body = json.dumps({"title": "help please", "body": code, "tags": ["go"]})
    # the whole body as one part, the snippet still escaped inside it
    found = run(det, tx(part(body, content_type="application/json"), content_type="application/json"))
    assert found and found[0].extra["language"] == "go"
    # the JSON string value as its own decoded part
    found = run(det, tx(part(body, content_type="application/json"),
                        part(code, path=("json:body",), name="body")))
    assert found and found[0].extra["language"] == "go" and found[0].extra["files"] == ["body"]


def test_snippet_in_form_field(det):
    code = POSITIVES["csharp"][0]
    body = "subject=question&message=" + quote_plus(code) + "&send=1"
    found = run(det, tx(part(body, content_type="application/x-www-form-urlencoded")))
    assert found and found[0].extra["language"] == "csharp"


def test_zip_members_listed(det):
    members = [part(POSITIVES["rust"][i], filename=f"src/m{i}.rs", path=("multipart:file", f"zip:src/m{i}.rs"))
               for i in range(3)]
    readme = part(NEGATIVES["markdown"][1], filename="README.md", path=("multipart:file", "zip:README.md"))
    found = run(det, tx(readme, *members))
    assert len(found) == 1
    e = found[0].extra
    assert e["language"] == "rust" and e["parts"] == 3
    assert e["files"] == ["src/m0.rs", "src/m1.rs", "src/m2.rs"]
    assert e["lines"] >= 45


def test_archive_of_short_source_files_counts_together(det):
    short = ["\n".join(POSITIVES["python"][1].split("\n")[i:i + 8]) for i in (3, 9, 16)]
    parts = [part(s, filename=f"pkg/f{i}.py", path=(f"zip:pkg/f{i}.py",)) for i, s in enumerate(short)]
    found = run(det, tx(*parts))
    assert found and found[0].extra["language"] == "python" and found[0].extra["parts"] == 3
    assert run(det, tx(parts[0])) == []  # one short file alone is below min_lines


def test_non_code_uploads_raise_nothing(det):
    for family, texts in NEGATIVES.items():
        for t in texts:
            assert run(det, tx(part(t, filename="x.txt"))) == [], family


def test_downloads_are_ignored_by_default():
    code = POSITIVES["java"][0]
    down = tx(part(code), direction=TOCLIENT)
    assert run(SourceCodeDetector(SourceCodeParams()), down) == []
    both = SourceCodeDetector(SourceCodeParams(direction="both"))
    assert run(both, down)[0].direction == TOCLIENT
    assert run(both, tx(part(code)))


def test_hosts_languages_and_content_types():
    code = POSITIVES["php"][0]
    det = SourceCodeDetector(SourceCodeParams(allow_hosts=("git.corp.example",),
                                              deny_hosts=("pastebin.com",)))
    assert not det.applies(tx(part(code), host="git.corp.example"))
    assert not det.applies(tx(part(code), host="mirror.git.corp.example:8443"))
    assert det.applies(tx(part(code), host="notgit.corp.example"))
    assert run(det, tx(part(code), host="pastebin.com"))[0].severity == 1
    assert run(det, tx(part(code), host="upload.example.net"))[0].severity == 2
    only_py = SourceCodeDetector(SourceCodeParams(languages=("python",)))
    assert run(only_py, tx(part(code))) == []
    assert run(only_py, tx(part(POSITIVES["python"][0])))
    assert run(SourceCodeDetector(SourceCodeParams()), tx(part(code, content_type="image/png"))) == []


@pytest.fixture(scope="module")
def index_path(tmp_path_factory):
    if not os.path.exists(f"{STD}/tarfile.py"):
        pytest.fail("Python stdlib sources not found")
    repo = tmp_path_factory.mktemp("repo")
    for m in ("tarfile", "shutil", "csv"):
        shutil.copy(f"{STD}/{m}.py", repo / f"{m}.py")
    path = tmp_path_factory.mktemp("idx") / "code.fp"
    F.build_index([("corp-tools", str(repo))]).save(str(path))
    return str(path)


def test_fingerprint_match_names_repo_and_raises_severity(index_path):
    from tests.source_code.mutate import rename_and_reformat
    det = SourceCodeDetector(SourceCodeParams(fingerprint_index=index_path))
    with open(f"{STD}/tarfile.py", encoding="utf-8") as fh:
        text = fh.read()
    start = text.index("    def _init_write_gz(self")
    leaked = rename_and_reformat("\n".join(text[start:].split("\n")[:40]))
    found = run(det, tx(part(leaked, name="snippet")))
    assert found and found[0].severity == 1
    fp = found[0].extra["fingerprint"]
    assert (fp["repo"], fp["path"]) == ("corp-tools", "tarfile.py") and fp["similarity"] >= 0.35
    # unrelated code: ordinary severity, no fingerprint; with require_fingerprint: nothing
    other = run(det, tx(part(POSITIVES["python"][2])))
    assert other and other[0].severity == 2 and "fingerprint" not in other[0].extra
    strict = SourceCodeDetector(SourceCodeParams(fingerprint_index=index_path, require_fingerprint=True))
    assert run(strict, tx(part(POSITIVES["python"][2]))) == []
    assert run(strict, tx(part(leaked)))


def test_params_validation(tmp_path):
    for bad in ({"min_lines": 0}, {"min_confidence": 1.5}, {"severity": 5},
                {"fingerprint_min_similarity": 0}, {"languages": ()},
                {"languages": ("go", "go")}, {"require_fingerprint": True},
                {"fingerprint_index": str(tmp_path / "missing.fp")}, {"deny_hosts": ("",)}):
        with pytest.raises(ValueError):
            SourceCodeParams(**bad)


def test_rules_snippet_parses_and_registry_finds_detector():
    with open(SNIPPET, encoding="utf-8") as fh:
        snippet = fh.read()
    rules = parse("version: 1\ndetectors:\n" + snippet, "snippet.yaml")
    (spec,) = [s for s in rules.detectors if s.name == "source_code"]
    assert spec.params == SourceCodeParams(deny_hosts=("pastebin.com", "gist.github.com",
                                                        "paste.ee", "hastebin.com"))
    det = rules.build_detectors()[-1]
    assert isinstance(det, SourceCodeDetector)
    with pytest.raises(Exception) as err:
        parse("version: 1\ndetectors:\n  source_code:\n    languages: [cobol]\n", "r.yaml")
    assert "r.yaml:4" in str(err.value)


def test_benchmark_reports_throughput():
    from detectors.code.bench import benchmark
    result = benchmark(0.3)
    print(f"\nclassifier throughput on a mixed sample: {result}")
    assert result["bytes"] > 0 and result["code_texts"] > 0
