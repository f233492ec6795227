"""Installed from a wheel (not the repository): the shipped rules and the DNS tunnel model
must come with it (pyproject data-files, dlp/shipped.py). The wheel is built from a copy of
the sources (pip fetches its build backend from the package index), installed without
dependencies into a new venv that borrows them from this interpreter, and `dlp replay` runs
from a directory outside the repository on an HTTP card upload and an iodine tunnel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = ["pyproject.toml", "README.md", "dlp", "detectors", "rules", "models"]
CAPTURES = ["pcaps/http/json-cards-upload.pcap", "pcaps/covert/heldout/iodine-mx-base64u.pcap"]


def _run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300, **kw)


def test_a_wheel_install_finds_its_rules_and_model(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        path = os.path.join(ROOT, name)
        if os.path.isdir(path):
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(path, src / name)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(src))
    (wheel,) = (tmp_path / "dist").iterdir()
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = str(venv / "bin" / "python")
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    # dependencies from this interpreter's site-packages, after the venv's own (a .pth path
    # is appended, and .pth files in it are not run: the editable dlp there stays out)
    with open(os.path.join(purelib, "deps.pth"), "w") as fh:
        fh.write(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", str(wheel))
    shutil.rmtree(src)  # nothing of the sources left to fall back on
    work = tmp_path / "work"
    work.mkdir()
    where = _run(python, "-c", "import dlp.cli, detectors.covert.model as m; print(dlp.cli.__file__);"
                 "print(dlp.cli.DEFAULT_RULES); print(m.DEFAULT_PATH)", cwd=work).stdout.split()
    assert all(p.startswith(str(venv)) for p in where), where  # the installed copy, not the repository
    for capture in CAPTURES:
        shutil.copy(os.path.join(ROOT, capture), work)
    eve = work / "eve.json"
    _run(python, "-m", "dlp", "replay", "--quiet", "--eve", str(eve), *map(os.path.basename, CAPTURES), cwd=work)
    detectors = {e["alert"]["detector"] for e in map(json.loads, open(eve)) if e["event_type"] == "alert"}
    assert {"pan", "dns_tunnel"} <= detectors
