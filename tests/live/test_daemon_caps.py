"""The systemd unit runs the daemon as an unprivileged user with CAP_NET_RAW, CAP_NET_ADMIN and
CAP_BPF only (dist/dlp.service): the same here with setpriv, capturing on loopback in a
namespace of the test's own, must start, write stats and stop cleanly on SIGTERM. Without
CAP_BPF the kernel bypass cannot load: the daemon says so and runs without it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile

import pytest

from tests.live.daemon_helpers import ROOT, events, stats_by_worker, wait_for
from tests.live.test_daemon_outputs import private_net  # noqa: F401 - fixture

NOBODY = 65534


@pytest.mark.parametrize("caps", ["+net_raw,+net_admin,+bpf", "+net_raw,+net_admin"])
def test_runs_as_nobody_with_capabilities_only(private_net, caps):  # noqa: F811
    work = tempfile.mkdtemp(prefix="dlp5caps")
    try:
        os.chmod(work, 0o777)
        cfg = os.path.join(work, "dlp.yaml")
        with open(cfg, "w") as fh:
            fh.write(f"version: 1\nstats_interval: 0.5\nhmac_key: {work}/hmac.key\ninterfaces:\n"
                     f"  - name: lo\n    workers: 2\n    bpf: tcp or icmp\noutputs:\n  metrics: null\n"
                     f"  eve: {{path: {work}/eve.json}}\n")
        proc = subprocess.Popen(["ip", "netns", "exec", private_net, "setpriv", f"--reuid={NOBODY}",
                                 f"--regid={NOBODY}", "--clear-groups", f"--inh-caps={caps}",
                                 f"--ambient-caps={caps}", sys.executable, "-m", "dlp", "run",
                                 "--config", cfg], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        try:
            eve = os.path.join(work, "eve.json")
            wait_for(lambda: len(stats_by_worker(events(eve))) == 2, "stats from both workers")
            subprocess.run(["ip", "netns", "exec", private_net, "ping", "-c", "2", "-i", "0.2", "127.0.0.1"],
                           check=True, capture_output=True, timeout=10)
            wait_for(lambda: sum(s[-1]["stats"]["capture"]["kernel_packets"]
                                 for s in stats_by_worker(events(eve)).values()) >= 4, "the pings captured")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, proc.stderr.read()
            stderr = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        capture = [s[-1]["stats"]["capture"] for s in stats_by_worker(events(eve)).values()]
        if "bpf" in caps:  # the bypass program is attached: its counters are reported
            assert all("kernel_bypassed" in c for c in capture) and "kernel_bypass_unavailable" not in stderr
        else:
            assert not any("kernel_bypassed" in c for c in capture)
            assert stderr.count("kernel_bypass_unavailable") == 2  # one per worker, and it goes on
        assert os.stat(eve).st_uid == NOBODY
        assert os.stat(os.path.join(work, "hmac.key")).st_mode & 0o777 == 0o600
    finally:
        subprocess.run(["rm", "-rf", work], check=False)


def test_without_capabilities_it_says_what_is_missing(private_net):  # noqa: F811
    r = subprocess.run(["ip", "netns", "exec", private_net, "setpriv", f"--reuid={NOBODY}",
                        f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all", sys.executable, "-m",
                        "dlp", "run", "--interface", "lo", "--eve", "/dev/null"],
                       cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "needs CAP_NET_RAW" in r.stderr and "Traceback" not in r.stderr
