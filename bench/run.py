"""Throughput and memory benchmark: our engine against a bare dpkt decode loop and tshark.

    python -m bench.run [--size-mb 200] [--workdir bench/out] [--repeat 1] [--skip tshark,...]

Generates (once, cached in --workdir) the mixed capture and the 100k-open-flows capture
(bench/gen_mixed.py), then runs every tool as a child process pinned to one CPU and prints
wall seconds, MiB/s (file size / wall), packets/s and peak RSS, plus ours/reference ratios;
results also go to WORKDIR/results.json.

Peak RSS: each tool is started by a tiny launcher (`python -S -c LAUNCHER`) that
posix_spawns it, reaps it with os.wait4(pid) and reports that one child's ru_maxrss (KiB),
exit code, CPU time and wall time (spawn to exit, launcher start-up excluded) on a pipe.
Why the extra process: Linux carries the pre-exec memory high-water mark into ru_maxrss
across exec, so a tool forked/vforked straight from this (large) Python process would
report at least this process's RSS; forked from the ~8 MiB launcher, the floor is the
launcher's. os.wait4 gives exactly one child's figure, unlike getrusage(RUSAGE_CHILDREN),
which is the maximum over every child reaped so far; the launcher needs no /usr/bin/time
and its output format. `taskset` execs the tool, so the reaped process is the tool. If a
tool forks workers, ru_maxrss is the largest single process of its tree, not the sum.

Every run includes interpreter/program start-up, the same way for all three. tshark runs
with -n so it never resolves names (no network traffic).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import gen_mixed

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20

DPKT_LOOP = r"""
import sys, dpkt
IP, TCP, UDP = dpkt.ip.IP, dpkt.tcp.TCP, dpkt.udp.UDP
n = nbytes = ports = 0
with open(sys.argv[1], "rb") as fh:
    for ts, buf in dpkt.pcap.Reader(fh):
        n += 1
        eth = dpkt.ethernet.Ethernet(buf)
        ip = eth.data
        if isinstance(ip, IP):
            l4 = ip.data
            if isinstance(l4, (TCP, UDP)):
                nbytes += len(eth.data.data.data)
                ports ^= l4.sport ^ l4.dport
print(n, nbytes, ports)
"""


# --- inputs ------------------------------------------------------------------------------

def count_records(path: Path) -> int:
    """Records in a classic pcap file (header walk, no decoding)."""
    n = 0
    with open(path, "rb") as fh:
        magic = fh.read(24)[:4]
        endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        rec = struct.Struct(endian + "8xI4x")
        while len(h := fh.read(16)) == 16:
            fh.seek(rec.unpack(h)[0], 1)
            n += 1
    return n


def ensure_pcap(path: Path, make) -> dict:
    """Generate path with make(tmp_path) unless cached; returns its info (bytes, packets, ...)."""
    meta = path.with_suffix(".json")
    if path.exists():
        info = json.loads(meta.read_text()) if meta.exists() else {}
        if info.get("bytes") != path.stat().st_size:
            info = {"bytes": path.stat().st_size, "packets": count_records(path)}
        print(f"using cached {path} ({info['bytes'] / MiB:.0f} MiB)")
        return info
    print(f"generating {path} ...", flush=True)
    tmp = path.with_suffix(".tmp")
    t = time.perf_counter()
    info = make(str(tmp))
    info["gen_seconds"] = round(time.perf_counter() - t, 2)
    os.replace(tmp, path)
    meta.write_text(json.dumps(info))
    print(f"  {info['bytes'] / MiB:.0f} MiB, {info['packets']} packets in {info['gen_seconds']} s")
    return info


def warm(path: Path) -> None:
    """Read the file once so every tool starts with it in the page cache."""
    with open(path, "rb") as fh:
        while fh.read(8 * MiB):
            pass

# --- running -----------------------------------------------------------------------------


def pin_prefix(enabled: bool) -> list[str]:
    if not enabled or not shutil.which("taskset"):
        return []
    return ["taskset", "-c", str(min(os.sched_getaffinity(0)))]


def engine_cmd() -> list[str]:
    exe = shutil.which("dlp")
    return [exe] if exe else [sys.executable, "-m", "dlp"]


def shown(cmd: list[str]) -> str:
    """Command line for display, with an inline -c script abbreviated."""
    return " ".join("'<dpkt loop>'" if "\n" in a else a for a in cmd)


LAUNCHER = r"""
import os, sys, time
t = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t
os.write(int(sys.argv[1]), b"%d %d %.6f %.6f" % (os.waitstatus_to_exitcode(status), ru.ru_maxrss, wall,
                                                  ru.ru_utime + ru.ru_stime))
"""


def measure(cmd: list[str], timeout: float) -> dict:
    """Run cmd via the launcher with stdout discarded: exit code, wall, peak RSS, stderr tail."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    rfd, wfd = os.pipe()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, str(wfd), *cmd], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT, env=env, pass_fds=(wfd,),
                                start_new_session=True)
        os.close(wfd)
        timed_out = False
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher's own group: launcher and tool
            proc.wait()
        with os.fdopen(rfd, "rb") as fh:
            report = fh.read().split()
        err.seek(0)
        tail = err.read().decode(errors="replace").splitlines()[-15:]
    if len(report) != 4:
        return {"cmd": shown(cmd), "rc": proc.returncode or -1,
                "stderr_tail": tail + ([f"(killed after {timeout:g} s)"] if timed_out else [])}
    rc, maxrss_kib, wall, cpu = int(report[0]), int(report[1]), float(report[2]), float(report[3])
    res = {"cmd": shown(cmd), "rc": rc, "wall_s": round(wall, 3), "peak_rss_mib": round(maxrss_kib / 1024, 1),
           "cpu_s": round(cpu, 3)}
    if rc:
        res["stderr_tail"] = tail
    return res


def bench_tool(name, cmd, info, repeat, timeout) -> dict:
    """Best-of-repeat run of one tool on one file, with rates."""
    runs = []
    for _ in range(repeat):
        print(f"  {name}: {shown(cmd)}", flush=True)
        r = measure(cmd, timeout)
        runs.append(r)
        if r["rc"]:
            print(f"  {name} FAILED (exit {r['rc']}); stderr tail:")
            for line in r["stderr_tail"]:
                print("    | " + line)
            return r
    best = min(runs, key=lambda r: r["wall_s"])
    best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    best["mib_per_s"] = round(info["bytes"] / MiB / best["wall_s"], 2)
    best["pkts_per_s"] = round(info["packets"] / best["wall_s"])
    return best

# --- report ------------------------------------------------------------------------------


def ratios(ours: dict, ref: dict) -> dict | None:
    if ours.get("rc") or ref.get("rc") or "mib_per_s" not in ours or "mib_per_s" not in ref:
        return None
    return {"time": round(ours["wall_s"] / ref["wall_s"], 2),
            "rss": round(ours["peak_rss_mib"] / ref["peak_rss_mib"], 2)}


def table(title: str, info: dict, results: dict) -> str:
    lines = [f"{title}: {info['bytes'] / MiB:.1f} MiB, {info['packets']} packets",
             f"  {'tool':<8}{'wall s':>9}{'MiB/s':>9}{'pkts/s':>10}{'RSS MiB':>9}   ours/tool: time  RSS"]
    ours = results.get("dlp", {})
    for name, r in results.items():
        if r.get("rc"):
            lines.append(f"  {name:<8}  failed (exit {r['rc']})")
            continue
        rat = ratios(ours, r) if name != "dlp" else None
        extra = f"   x{rat['time']:<5}  x{rat['rss']}" if rat else ""
        lines.append(f"  {name:<8}{r['wall_s']:>9.2f}{r['mib_per_s']:>9.1f}{r['pkts_per_s']:>10}"
                     f"{r['peak_rss_mib']:>9.1f}{extra}")
    return "\n".join(lines)


def speedups(results: dict) -> str:
    """Throughput of each dlp variant relative to each reference (x>1: dlp is faster)."""
    lines = ["  speed (reference wall time / dlp wall time):"]
    for ours in ("dlp", "dlp-flow"):
        r = results.get(ours)
        if not r or r.get("rc"):
            continue
        parts = [f"{ref} x{results[ref]['wall_s'] / r['wall_s']:.2f}" for ref in ("dpkt", "tshark")
                 if ref in results and not results[ref].get("rc")]
        lines.append(f"    {ours:<9} " + ", ".join(parts))
    return "\n".join(lines)


def host_info() -> dict:
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    tshark = ""
    if shutil.which("tshark"):
        out = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout
        tshark = out.splitlines()[0] if out else ""
    try:
        import dpkt
        dpkt_v = dpkt.__version__
    except ImportError:
        dpkt_v = None
    return {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(), "dpkt": dpkt_v,
            "tshark": tshark, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=float, default=200, help="mixed capture size, MiB (default 200)")
    ap.add_argument("--flows", type=int, default=100_000, help="open flows in the memory capture")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool, best wall time kept")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run before it is killed")
    ap.add_argument("--skip", default="", help="comma list of: dlp,dpkt,tshark,concurrent")
    ap.add_argument("--no-pin", action="store_true", help="do not pin to one CPU with taskset")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    args.workdir.mkdir(parents=True, exist_ok=True)
    pin = pin_prefix(not args.no_pin)
    size = f"{args.size_mb:g}"

    mixed = args.workdir / f"mixed-{size}mb-s{args.seed}.pcap"
    mixed_info = ensure_pcap(mixed, lambda p: gen_mixed.generate_mixed(p, args.size_mb, args.seed))
    conc = args.workdir / f"concurrent-{args.flows}-s{args.seed}.pcap"
    conc_info = None
    if "concurrent" not in skip:
        conc_info = ensure_pcap(conc, lambda p: gen_mixed.generate_concurrent(p, args.flows, args.seed))

    engine_only = ["--rules", str(ROOT / "bench" / "reassembly-only.yaml")]
    tools = {
        "dlp": engine_cmd() + ["replay", str(mixed), "--eve", "/dev/null", "--quiet"],
        "dlp-flow": engine_cmd() + ["replay", str(mixed), "--eve", "/dev/null", "--quiet"] + engine_only,
        "dpkt": [sys.executable, "-c", DPKT_LOOP, str(mixed)],
        "tshark": ["tshark", "-n", "-r", str(mixed), "-Y", "http.request", "-T", "fields", "-e", "http.file_data"],
    }
    if not shutil.which("tshark"):
        print("tshark not on PATH: skipped")
        skip.add("tshark")

    print(f"mixed capture, pinned with: {' '.join(pin) or '(not pinned)'}")
    warm(mixed)
    results = {name: bench_tool(name, pin + cmd, mixed_info, args.repeat, args.timeout)
               for name, cmd in tools.items() if name not in skip}
    report = {"host": host_info(), "pinned": pin,
              "mixed": {"file": str(mixed), **mixed_info, "results": results}}
    if "dlp" in results:
        report["mixed"]["ratios_ours_over"] = {n: ratios(results["dlp"], r) for n, r in results.items() if n != "dlp"}
    out = [table("mixed", mixed_info, results), speedups(results)]

    if conc_info is not None and "dlp" not in skip:
        print("concurrent-flows capture")
        warm(conc)
        cmd = engine_cmd() + ["replay", str(conc), "--eve", "/dev/null", "--quiet"]
        conc_results = {"dlp": bench_tool("dlp", pin + cmd, conc_info, args.repeat, args.timeout),
                        "dlp-flow": bench_tool("dlp-flow", pin + cmd + engine_only, conc_info,
                                               args.repeat, args.timeout)}
        report["concurrent"] = {"file": str(conc), **conc_info, "results": conc_results}
        out.append(table(f"concurrent ({args.flows} open flows)", conc_info, conc_results))

    print("\n" + "\n\n".join(out))
    print("  (ours/tool: dlp's time and RSS over the tool's; dlp = default policy, dlp-flow = engine only)")
    dest = args.workdir / "results.json"
    dest.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
