"""Every detector test gets its own install key file (never /var/lib/dlp or ~/.config)."""

from __future__ import annotations

import pytest

from dlp import install_key


@pytest.fixture(autouse=True)
def _private_key_file(tmp_path, monkeypatch):
    monkeypatch.setenv(install_key.ENV_VAR, str(tmp_path / "keys" / "hmac.key"))
    install_key._forget()
    yield
    install_key._forget()
