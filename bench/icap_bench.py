"""ICAP service and key-log benchmark.

    python -m bench.icap_bench [--seconds 10] [--skip keylog] [--workdir bench/out/icap]

ICAP (loopback, `dlp icap` as its own process, default policy with cards set to block):
  * paced: small clean uploads (~200 B JSON, preview 1024) at --rate requests/s (default 200)
    over 8 kept-alive connections, open loop: latency counts from the moment a request was
    due, so a stall is not hidden by the client waiting (p50/p99/max, achieved rate)
  * the same paced run with card uploads (blocked: the 403 page comes back)
  * saturation: small clean uploads, 16 connections back to back for --seconds/2
  * 1 MiB bodies (JSON text with a card at the end, blocked; and random text, clean),
    4 connections, 32 requests each kind
Each load runs twice in this process: against `dlp icap` and against a reference ICAP
server (bench/icap_bench.py itself, --reference: reads the request, answers 204, no
inspection), so the ratio shows what inspection costs beyond the harness and loopback.

Key log (needs root: captures are recorded in network namespaces by tools/mitm_capture.py):
40 uploads of 1 MiB over TLS 1.3 / 1.2, HTTP/1.1 and HTTP/2, and the same uploads in clear
text; `dlp replay --keylog` of the TLS capture beside `dlp replay` of the clear-text twin
(same bodies inspected), of the TLS capture without keys, and `tshark` decrypting alone;
MB/s = capture size / seconds; dlp's pipelines are timed in this process (start-up is
seconds of imports, not throughput), best of 3 runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.icap_client import IcapClient  # noqa: E402

MiB = 1 << 20
HEAD = ("POST https://files.example.com/upload HTTP/1.1\r\nHost: files.example.com\r\n"
        "Content-Type: {ctype}\r\nContent-Length: {n}\r\n\r\n")
RULES = "version: 1\ndetectors:\n  pan:\n    action: block\n  secret: {}\n  source_code: {}\n  custom: {}\n"


# -- the reference server: frames ICAP requests, answers 204, inspects nothing --------------
async def _reference_conn(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            text = head.decode("latin-1").lower()
            if text.startswith("options"):
                writer.write(b"ICAP/1.0 200 OK\r\nMethods: REQMOD\r\nPreview: 1024\r\nAllow: 204\r\n"
                             b"ISTag: \"ref\"\r\nEncapsulated: null-body=0\r\n\r\n")
                continue
            enc = text.split("encapsulated:", 1)[1].split("\r\n", 1)[0]
            offsets = dict(e.strip().split("=") for e in enc.split(","))
            body_key = next(k for k in offsets if k.endswith("-body"))
            await reader.readexactly(int(offsets[body_key]))
            if body_key != "null-body":
                preview = "preview:" in text
                while True:  # read chunks to the last one
                    line = await reader.readuntil(b"\r\n")
                    size = int(line.split(b";")[0], 16)
                    if size == 0:
                        await reader.readuntil(b"\r\n")
                        if preview and b"ieof" not in line:
                            writer.write(b"ICAP/1.0 100 Continue\r\n\r\n")
                            preview = False
                            continue
                        break
                    await reader.readexactly(size + 2)
            writer.write(b"ICAP/1.0 204 No Content\r\nISTag: \"ref\"\r\nEncapsulated: null-body=0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def reference_main(port: int) -> None:
    async def main():
        server = await asyncio.start_server(_reference_conn, "127.0.0.1", port, limit=1 << 20)
        async with server:
            await server.serve_forever()
    asyncio.run(main())


# -- servers ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(kind: str, workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    if kind == "dlp":
        rules = workdir / "rules.yaml"
        rules.write_text(RULES)
        cmd = [sys.executable, "-m", "dlp", "icap", "--listen", f"127.0.0.1:{port}", "--rules", str(rules),
               "--eve", str(workdir / "eve.json")]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--reference", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} ICAP server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# -- loads -----------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def paced(port: int, body: bytes, rate: float, seconds: float, conns: int = 8, warmup: float = 1.0) -> dict:
    """Open loop: request i is due at start + i/rate; connection k sends requests k, k+C...
    The first `warmup` seconds' requests are sent but not counted (a proxy's service is warm)."""
    total = int(rate * (seconds + warmup))
    first_counted = int(rate * warmup)
    head = HEAD.format(ctype="application/json", n=len(body)).encode()
    latencies: list[float] = []
    statuses: dict = {}
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def worker(k: int) -> None:
        with IcapClient("127.0.0.1", port, timeout=60) as c:
            for i in range(k, total, conns):
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                answer = c.reqmod(head, body, preview=1024)
                done = time.perf_counter()
                if i < first_counted:
                    continue
                with lock:
                    latencies.append(done - due)
                    key = answer.http_status or answer.status
                    statuses[key] = statuses.get(key, 0) + 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start - warmup
    return _summary(latencies, elapsed, len(body), statuses)


def closed(port: int, body: bytes, conns: int, requests: int | None = None, seconds: float | None = None,
           ctype: str = "application/json") -> dict:
    """Closed loop: each connection sends its next request when the answer came."""
    head = HEAD.format(ctype=ctype, n=len(body)).encode()
    latencies: list[float] = []
    statuses: dict = {}
    lock = threading.Lock()
    start = time.perf_counter()
    end = start + seconds if seconds else None

    def worker() -> None:
        with IcapClient("127.0.0.1", port, timeout=120) as c:
            n = 0
            while (requests is None or n < requests) and (end is None or time.perf_counter() < end):
                t0 = time.perf_counter()
                answer = c.reqmod(head, body, preview=1024)
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    key = answer.http_status or answer.status
                    statuses[key] = statuses.get(key, 0) + 1
                n += 1

    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _summary(latencies, time.perf_counter() - start, len(body), statuses)


def _summary(latencies: list[float], elapsed: float, size: int, statuses: dict) -> dict:
    n = len(latencies)
    return {"requests": n, "req_per_s": n / elapsed, "MiB_per_s": n * size / elapsed / MiB,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "max_ms": max(latencies) * 1000 if latencies else float("nan"), "answers": statuses}


def prose(rng: random.Random, size: int) -> bytes:
    """Word-like text without digits (digit runs are what the card scanner works hardest on;
    this is the common case of documents and form text)."""
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(3000)]
    return " ".join(rng.choice(words) for _ in range(size // 4)).encode()[:size]


def icap_loads(seconds: float, rate: float) -> dict:
    rng = random.Random(6)
    clean = json.dumps({"comment": "quarterly numbers look fine", "order": 1234,
                        "items": [{"sku": f"A-{i}", "qty": i} for i in range(8)]}).encode()
    cards = json.dumps({"card_number": "4532015112830366", "cvv": "123", "exp": "12/27",
                        "name": "Customer"}).encode()
    big_text = prose(rng, MiB)
    big_cards = (b'{"notes": "' + big_text[:MiB - 200] + b'", "card_number": "4532015112830366", "cvv": "123"}')
    loads = {
        f"small clean, paced {rate:.0f}/s, 8 conns": lambda p: paced(p, clean, rate, seconds),
        f"small cards (blocked), paced {rate:.0f}/s, 8 conns": lambda p: paced(p, cards, rate, seconds),
        "small clean, saturation, 16 conns": lambda p: closed(p, clean, 16, seconds=seconds / 2),
        "1 MiB text (clean), 4 conns x 8": lambda p: closed(p, big_text, 4, requests=8, ctype="text/plain"),
        "1 MiB JSON with a card (blocked), 4 conns x 8": lambda p: closed(p, big_cards, 4, requests=8),
    }
    results = {}
    with tempfile.TemporaryDirectory(prefix="dlp-icap-bench-") as tmp:
        for kind in ("dlp", "reference"):
            proc, port = start_server(kind, Path(tmp))
            try:
                for name, load in loads.items():
                    results.setdefault(name, {})[kind] = load(port)
            finally:
                stop(proc)
    return results


def print_icap(results: dict) -> None:
    print("\nICAP on loopback (dlp icap vs reference 204-only server, same loads, same process)")
    print(f"{'load':52} {'server':9} {'req/s':>8} {'MiB/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  answers")
    for name, by in results.items():
        for kind, r in by.items():
            print(f"{name:52} {kind:9} {r['req_per_s']:8.1f} {r['MiB_per_s']:7.2f} {r['p50_ms']:8.2f} "
                  f"{r['p99_ms']:8.2f} {r['max_ms']:8.2f}  {r['answers']}")
        d, ref = by["dlp"], by["reference"]
        print(f"{'':52} {'ratio':9} {d['req_per_s'] / ref['req_per_s']:8.2f}x"
              f"{'':9}{d['p50_ms'] / ref['p50_ms']:8.2f}x {d['p99_ms'] / ref['p99_ms']:7.2f}x")


# -- key log -----------------------------------------------------------------------------------
def keylog_bench(workdir: Path, repeat: int = 3) -> dict:
    """The same 40 uploads recorded twice: through the TLS proxy (with its key log) and in
    clear text; `dlp replay` of the clear capture inspects the very bodies the key-log path
    decrypts, so the ratio is the cost of decryption."""
    from dlp.cli import load_rules
    from dlp.outputs.eve import EveWriter
    from dlp.pipeline import Pipeline
    from dlp.tls.keylog import KeylogPipeline
    from dlp.tls.tshark import tshark_command
    from tools.mitm_capture import PLAIN_PORT, SERVERS, Upload, record

    rng = random.Random(7)
    bodies = [b'{"card_number": "4532015112830366", "t": "' + prose(rng, MiB - 100) + b'"}' for _ in range(40)]
    captures = {}
    for kind in ("tls", "plain"):
        rec = workdir / f"keylog-{kind}"
        if not (rec / "capture.pcap").exists():
            ports = list(SERVERS) if kind == "tls" else [PLAIN_PORT]
            record(str(rec), [Upload(f"bulk-{i}", ports[i % len(ports)], body) for i, body in enumerate(bodies)],
                   tag="dlp6b")
        captures[kind] = str(rec / "capture.pcap")
    keys = str(workdir / "keylog-tls" / "keys.log")
    ruleset = load_rules(None)
    runs = {  # dlp in this process (its start-up is seconds of imports, not throughput)
        "dlp replay, clear-text twin": (lambda: Pipeline(ruleset, EveWriter(None)), captures["plain"]),
        "dlp replay, TLS, no key log": (lambda: Pipeline(ruleset, EveWriter(None)), captures["tls"]),
        "dlp replay --keylog, TLS": (lambda: KeylogPipeline(ruleset, EveWriter(None), keys), captures["tls"]),
        "tshark decrypting alone (same command)": (tshark_command(keys, ["-r", captures["tls"]]), captures["tls"]),
    }
    out = {}
    for name, (run, pcap) in runs.items():
        walls, alerts = [], None
        for _ in range(repeat):  # the best of `repeat`: the machine is shared
            t0 = time.perf_counter()
            if isinstance(run, list):
                subprocess.run(run, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            else:
                pipeline = run()
                pipeline.replay_file(pcap)
                alerts = sum(pipeline.finish().alerts.values())
            walls.append(time.perf_counter() - t0)
        out[name] = {"seconds": min(walls), "capture_MiB": os.path.getsize(pcap) / MiB, "alerts": alerts}
        out[name]["MiB_per_s"] = out[name]["capture_MiB"] / out[name]["seconds"]
    return out


def print_keylog(results: dict) -> None:
    print("\nKey-log path: 40 uploads of 1 MiB (TLS 1.2/1.3, HTTP/1.1 and h2) and their clear-text twin")
    print("(dlp pipelines timed in this process, tshark as a process; best of 3)")
    base = results["dlp replay, clear-text twin"]["seconds"]
    for name, r in results.items():
        alerts = "" if r["alerts"] is None else f"  alerts {r['alerts']}"
        print(f"  {name:40} {r['capture_MiB']:6.1f} MiB {r['seconds']:7.2f} s {r['MiB_per_s']:7.2f} MiB/s"
              f"  {r['seconds'] / base:5.2f}x the clear-text replay{alerts}")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--reference":
        reference_main(int(sys.argv[2]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--skip", default="", help="comma list: icap, keylog")
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "out" / "icap"))
    args = ap.parse_args()
    from dlp.log import configure_logging

    configure_logging("warning")  # the in-process pipelines log as the CLI does
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    results = {}
    if "icap" not in args.skip:
        results["icap"] = icap_loads(args.seconds, args.rate)
        print_icap(results["icap"])
    if "keylog" not in args.skip:
        if os.geteuid() != 0 or not shutil.which("mitmdump"):
            sys.exit("the key-log benchmark records in network namespaces: run as root with mitmproxy")
        results["keylog"] = keylog_bench(workdir)
        print_keylog(results["keylog"])
    (workdir / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
