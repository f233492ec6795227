"""`dlp run --keylog` end to end: TLS uploads recorded through mitmproxy (its SSLKEYLOGFILE
kept) are replayed with tcpreplay into a simulated mirror port; the daemon's two workers
decrypt the TLS flows with the key log while capturing and alert on the card uploads with the
flows' real addresses, and the flow records of those flows say alerted.

The recording is made with segmentation offloads off (TestNet.disable_offloads): MTU-sized
frames, as a real link carries them, which tcpreplay can send. So the uploads are realistic:
every default upload (one of 200 KB) plus a 300 KB CSV upload with its cards in the middle.

Needs root, iproute2 (tc), tcpdump, ethtool, curl, mitmproxy, python3-h2, tcpreplay, tshark
(.ci/run installs them). Traffic stays inside the namespaces the test makes.
"""

from __future__ import annotations

import os
import random

from dlp.capture.pcapfile import CaptureFile
from tests.live.daemon_helpers import events, mirror_config, start_daemon, stats_by_worker, wait_for
from tools.dlp_samples import cards, customers_csv
from tools.mitm_capture import PLAIN_PORT, Upload, default_uploads, record
from tools.netns import TestNet

MTU = 1500


def _cards_in_the_middle(size: int) -> bytes:
    """A CSV export of `size` bytes or so: clean rows, four card rows half way, clean rows."""
    clean = "".join(f"{i},Customer {i},none on file,12/29\n" for i in range(size // 32)).encode()
    half = len(clean) // 2
    card_rows = customers_csv(cards(random.Random(9), 4)).split(b"\n", 1)[1]  # without its header
    return b"id,name,card,expiry\n" + clean[:half] + card_rows + clean[half:]


def test_daemon_decrypts_tls_with_the_proxy_key_log(tmp_path):
    tag = f"{os.getpid() % 100000}"  # concurrent runs do not collide
    middle = _cards_in_the_middle(300_000)
    uploads = default_uploads() + [Upload("cards-middle-h1-tls12", 8444, middle, "text/csv")]
    rec = record(str(tmp_path / "rec"), uploads, tag=f"r{tag}", mtu_frames=True)
    assert max(u["len"] for u in rec["uploads"]) >= 300_000
    with CaptureFile(rec["pcap"]) as cap:
        assert max(len(frame) for _, _, frame, _ in cap) <= MTU + 14  # no super-frames: Ethernet MTU
    cards_uploads = sorted(u["name"] for u in rec["uploads"] if u["name"].startswith("cards-"))
    tls_cards = [u for u in rec["uploads"] if u["name"].startswith("cards-") and u["port"] != PLAIN_PORT]
    assert len(tls_cards) == 6  # the recording has decrypt-only leaks to find
    eve = tmp_path / "eve.json"
    with TestNet(tag=f"d{tag}") as net:
        tap, monitor_dev = net.add_monitor()
        daemon = start_daemon(net, net.monitor_ns, ["--config", mirror_config(tmp_path, monitor_dev),
                                                    "--keylog", rec["keylog"]], tmp_path / "dlp.stderr")
        wait_for(lambda: len(stats_by_worker(events(eve))) == 2, "stats from both workers")
        net.run_in(net.server_ns, ["tcpreplay", "-q", "--mbps", "20", "-i", tap, rec["pcap"]])
        alerts = wait_for(lambda: (lambda a: a if len(a) >= len(cards_uploads) else None)(
            [e for e in events(eve) if e["event_type"] == "alert" and e["alert"]["detector"] == "pan"]),
            "an alert per card upload, decrypted ones included", timeout=60)
        daemon.terminate()
        assert daemon.wait(timeout=30) == 0
    assert sorted(a["http"]["url"].lstrip("/") for a in alerts) == cards_uploads
    ports = {a["dest_port"] for a in alerts}
    assert {u["port"] for u in tls_cards} <= ports  # the TLS flows' real server ports
    assert all("*" in m["masked"] for a in alerts for m in a["dlp"]["matches"])
    middle_alert = next(a for a in alerts if a["http"]["url"] == "/cards-middle-h1-tls12")
    assert middle_alert["http"]["length"] == len(middle)  # the whole body, decrypted
    # the flow records (at close, or at the daemon's end): alerted exactly when an alert named the flow
    records = [e for e in events(eve) if e["event_type"] == "flow"]
    alerted = {r["flow_id"] for r in records if r["flow"]["alerted"]}
    assert alerted == {a["flow_id"] for a in alerts}
    tls_records = {r["flow_id"] for r in records if r.get("dest_port") in {u["port"] for u in tls_cards}}
    assert len(tls_records) == len(rec["uploads"]) - 1  # one TLS flow per upload, the clear one aside
