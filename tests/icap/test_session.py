"""The sans-I/O session (what the server runs per connection) under hostile input: any bytes
give answers or a closed session, never an exception; and the `dlp icap` command reloads
its rules on SIGHUP with a new ISTag."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlp import rules
from dlp.icap.inspect import IcapInspector
from dlp.icap.session import IcapSession, Service, Spool
from dlp.outputs.eve import EveWriter
from tests.icap.helpers import CARD_JSON, CLEAN_JSON, http_post, reqmod, respmod
from tools.icap_client import IcapClient

RULESET = rules.parse("version: 1\ndetectors:\n  pan:\n    action: block\n    direction: both\n")
SERVICE = Service(IcapInspector(RULESET, EveWriter(None)), "t", Counter())


def _valid_stream() -> bytes:
    parts = [reqmod(CARD_JSON, preview=8), reqmod(CLEAN_JSON), respmod(CARD_JSON * 3, preview=16),
             reqmod(None, extra=())]
    return b"".join(first + (rest or b"") for first, rest in parts)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.integers(0, 2**32))
def test_any_bytes_give_answers_never_exceptions(junk, seed):
    rng = random.Random(seed)
    data = bytearray(_valid_stream())
    cut = rng.randint(0, len(data))
    data[cut:cut] = junk
    for _ in range(rng.randint(0, 4)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    session = IcapSession(SERVICE)
    pos = 0
    while pos < len(data) and not session.closed:
        n = rng.randint(1, 400)
        for item in session.receive(bytes(data[pos:pos + n])):
            assert isinstance(item, (bytes, Spool))
            if isinstance(item, Spool):
                b"".join(item.chunks())
        pos += n
    session.abort()


def test_valid_stream_answers_in_order():
    session = IcapSession(SERVICE)
    answers = b"".join(x for x in session.receive(_valid_stream()) if isinstance(x, bytes))
    statuses = [line.split(b" ")[1] for line in answers.split(b"\r\n") if line.startswith(b"ICAP/1.0")]
    # card upload: 100 then 200 (403 page); clean: 204; card download: 100 then 200 (403 page);
    # no body and no "Allow: 204": 200 echoing the request head
    assert statuses == [b"100", b"200", b"204", b"100", b"200", b"200"]
    assert answers.count(b"HTTP/1.1 403 Forbidden") == 2 and b"null-body=" in answers


def test_sighup_reloads_rules_and_changes_istag(tmp_path):
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text("version: 1\ndetectors:\n  pan:\n    action: block\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "dlp", "icap", "--listen", f"127.0.0.1:{port}", "--rules",
                             str(rules_path), "--eve", str(tmp_path / "eve.json")], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        with IcapClient("127.0.0.1", port) as c:
            before = c.options().headers["istag"]
        rules_path.write_text("version: 1\ndetectors:\n  pan:\n    action: alert\n")
        os.kill(proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 10
        after = before
        while after == before and time.monotonic() < deadline:
            time.sleep(0.1)
            with IcapClient("127.0.0.1", port) as c:
                after = c.options().headers["istag"]
        assert after != before
        with IcapClient("127.0.0.1", port) as c:
            assert c.reqmod(http_post(CARD_JSON), CARD_JSON).status == 204  # now only alerts
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert proc.returncode == 0
    events = [line for line in open(tmp_path / "eve.json")]
    assert any('"action":"allowed"' in e for e in events) and any('"event_type":"stats"' in e for e in events)



def _budget_service(fail_mode: str, tmp_path) -> tuple[Service, str]:
    ruleset = rules.parse(f"version: 1\nicap:\n  fail_mode: {fail_mode}\n  max_total_body_bytes: 100000\n"
                          "detectors:\n  pan:\n    action: block\n")
    eve_path = str(tmp_path / f"eve-{fail_mode}.json")
    return Service(IcapInspector(ruleset, EveWriter(eve_path)), "t", Counter()), eve_path


def test_memory_budget_is_shared_by_open_transactions(tmp_path):
    import json

    for fail_mode, status in (("open", b"ICAP/1.0 204"), ("closed", b"ICAP/1.0 200")):
        service, eve_path = _budget_service(fail_mode, tmp_path)
        big = b"a" * 80_000 + b"\n"
        first, rest = reqmod(big, preview=1000)
        holder = IcapSession(service)
        holder.receive(first)  # 100 Continue
        holder.receive(rest[:70_000])  # in progress: ~71 KB kept
        assert service.inspector.held > 70_000
        other = IcapSession(service)
        a, b = reqmod(b"b" * 50_000, preview=1000)
        answers = b"".join(x for x in other.receive(a) + other.receive(b) if isinstance(x, bytes))
        assert answers.split(b"\r\n\r\n", 1)[1].startswith(status)  # after the 100 Continue
        assert service.inspector.counts["over_memory_budget"] == 1
        holder.receive(rest[70_000:])  # done: its bytes are free again
        assert service.inspector.held == 0
        again = IcapSession(service)
        c, d = reqmod(b"c" * 50_000, preview=1000)
        assert b"ICAP/1.0 204" in b"".join(x for x in again.receive(c) + again.receive(d) if isinstance(x, bytes))
        assert service.inspector.counts["over_memory_budget"] == 1
        service.inspector.eve.close()
        [anomaly] = [e for e in map(json.loads, open(eve_path)) if e["event_type"] == "anomaly"]
        assert anomaly["anomaly"]["event"] == "icap.memory_budget" and anomaly["dlp"]["icap"]["service"] == "reqmod"


def test_aborted_transaction_frees_its_budget(tmp_path):
    service, _ = _budget_service("open", tmp_path)
    first, rest = reqmod(b"z" * 60_000, preview=1000)
    session = IcapSession(service)
    session.receive(first)
    session.receive(rest[:30_000])
    assert service.inspector.held > 0
    session.abort()
    assert service.inspector.held == 0
