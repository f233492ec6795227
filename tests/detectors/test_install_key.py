"""The per-install HMAC key: created once, 32 bytes, mode 0600, found again."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from dlp import install_key


def test_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "a" / "b" / "hmac.key"
    key = install_key.load_or_create_key(str(path))
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    install_key._forget()
    assert install_key.load_or_create_key(str(path)) == key  # read back, not re-created
    assert not [p for p in path.parent.iterdir() if p.name != "hmac.key"]  # no temp files left


def test_umask_does_not_loosen_or_break_the_mode(tmp_path):
    old = os.umask(0o000)
    try:
        path = tmp_path / "k"
        install_key.load_or_create_key(str(path))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_default_path_comes_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "env.key"
    monkeypatch.setenv("DLP_HMAC_KEY_FILE", str(path))
    assert install_key.default_path() == str(path)
    key = install_key.load_or_create_key()
    assert path.read_bytes() == key


def test_default_falls_back_to_the_user_config_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DLP_HMAC_KEY_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(install_key, "SYSTEM_PATH", str(tmp_path / "nonexistent" / "sys" / "hmac.key"))
    monkeypatch.setattr(install_key, "_creatable", lambda directory: False)
    assert install_key.default_path() == str(tmp_path / ".config" / "dlp" / "hmac.key")
    monkeypatch.setattr(install_key, "_creatable", lambda directory: True)
    assert install_key.default_path() == install_key.SYSTEM_PATH


def test_a_file_that_is_not_a_key_is_an_error(tmp_path):
    path = tmp_path / "bad.key"
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="not a dlp HMAC key"):
        install_key.load_or_create_key(str(path))


def test_concurrent_creators_agree(tmp_path):
    path = str(tmp_path / "race.key")
    keys = []

    def create():
        keys.append(install_key._create(path) if not os.path.exists(path) else install_key._read(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    on_disk = open(path, "rb").read()
    assert all(k == on_disk for k in keys)
    # losing the race: the file appeared between the check and the link
    assert install_key._create(path) == on_disk
