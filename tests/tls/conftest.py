"""One recording for the key-log tests: tools/mitm_capture.py in network namespaces."""

from __future__ import annotations

import os

import pytest

from tools.mitm_capture import record


@pytest.fixture(scope="package")
def recording(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    d = tmp_path_factory.mktemp("keylog")
    result = record(str(d / "rec"), tag=f"k{os.getpid() % 100000}")  # concurrent runs do not collide
    assert all(u["status"] == 200 for u in result["uploads"])
    # the clients really spoke what the case says (curl to mitmproxy; mitmproxy matches upstream)
    assert {u["client_http_version"] for u in result["uploads"] if "-h2-" in u["name"]} == {"2"}
    return result, d
