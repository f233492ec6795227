"""`dlp run --keylog` end to end: TLS uploads recorded through mitmproxy (its SSLKEYLOGFILE
kept) are replayed with tcpreplay into a simulated mirror port; the daemon's two workers
decrypt the TLS flows with the key log while capturing and alert on the card uploads with the
flows' real addresses.

Needs root, iproute2 (tc), tcpdump, curl, mitmproxy, python3-h2, tcpreplay, tshark (.ci/run
installs them). Traffic stays inside the namespaces the test makes.
"""

from __future__ import annotations

from tests.live.daemon_helpers import events, mirror_config, start_daemon, stats_by_worker, wait_for
from tools.mitm_capture import PLAIN_PORT, default_uploads, record
from tools.netns import TestNet


def test_daemon_decrypts_tls_with_the_proxy_key_log(tmp_path):
    # Small uploads only: tcpdump on a veth records GSO super-frames (up to 64 KiB) for large
    # bodies, which tcpreplay cannot send through a 1500-byte link. (Large decrypted bodies are
    # covered by tests/tls on the same recorder.)
    uploads = [u for u in default_uploads() if len(u.body) < 20_000]
    rec = record(str(tmp_path / "rec"), uploads, tag="dlp5k")
    cards = sorted(u["name"] for u in rec["uploads"] if u["name"].startswith("cards-"))
    tls_cards = [u for u in rec["uploads"] if u["name"].startswith("cards-") and u["port"] != PLAIN_PORT]
    assert len(cards) >= 2 and tls_cards  # the recording has decrypt-only leaks to find
    eve = tmp_path / "eve.json"
    with TestNet(tag="dlp5t") as net:
        tap, monitor_dev = net.add_monitor()
        daemon = start_daemon(net, net.monitor_ns, ["--config", mirror_config(tmp_path, monitor_dev),
                                                    "--keylog", rec["keylog"]], tmp_path / "dlp.stderr")
        wait_for(lambda: len(stats_by_worker(events(eve))) == 2, "stats from both workers")
        net.run_in(net.server_ns, ["tcpreplay", "-q", "--mbps", "20", "-i", tap, rec["pcap"]])
        alerts = wait_for(lambda: (lambda a: a if len(a) >= len(cards) else None)(
            [e for e in events(eve) if e["event_type"] == "alert" and e["alert"]["detector"] == "pan"]),
            "an alert per card upload, decrypted ones included", timeout=60)
        daemon.terminate()
        assert daemon.wait(timeout=30) == 0
    assert sorted(a["http"]["url"].lstrip("/") for a in alerts) == cards
    ports = {a["dest_port"] for a in alerts}
    assert {u["port"] for u in tls_cards} <= ports  # the TLS flows' real server ports
    assert all("*" in m["masked"] for a in alerts for m in a["dlp"]["matches"])
