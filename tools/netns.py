"""Two test hosts joined by a veth pair, each in its own network namespace, with a tcpdump
on the server side: the place where tests and recording scripts run real clients and servers.

    with TestNet() as net:
        server = net.start_server([...])          # runs inside the server namespace
        with net.capture("out.pcap", "tcp port 8080"):
            net.run_client(["curl", ...])        # runs inside the client namespace

Traffic never leaves the two namespaces. Every process started is stopped by its PID and the
namespaces are deleted on exit. Needs root and iproute2, tcpdump.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

SERVER_IP, CLIENT_IP = "10.213.7.1", "10.213.7.2"


def _run(*cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run to completion; output is kept as bytes (clients may print binary)."""
    return subprocess.run(cmd, check=check, capture_output=True, timeout=timeout)


class TestNet:
    __test__ = False  # not a pytest class

    def __init__(self, tag: str | None = None):
        tag = tag or f"dlp{os.getpid() % 100000}"
        self.server_ns, self.client_ns = f"{tag}s", f"{tag}c"
        self.server_dev, self.client_dev = f"{tag}a", f"{tag}b"
        self.server_ip, self.client_ip = SERVER_IP, CLIENT_IP
        self._procs: list[subprocess.Popen] = []
        self._extra_ns: list[str] = []  # namespaces added later (add_monitor)

    def __enter__(self) -> "TestNet":
        _run("ip", "netns", "add", self.server_ns)
        _run("ip", "netns", "add", self.client_ns)
        try:
            _run("ip", "link", "add", self.server_dev, "type", "veth", "peer", "name", self.client_dev)
            _run("ip", "link", "set", self.server_dev, "netns", self.server_ns)
            _run("ip", "link", "set", self.client_dev, "netns", self.client_ns)
            _run("ip", "-n", self.server_ns, "addr", "add", f"{SERVER_IP}/24", "dev", self.server_dev)
            _run("ip", "-n", self.client_ns, "addr", "add", f"{CLIENT_IP}/24", "dev", self.client_dev)
            for ns, dev in ((self.server_ns, self.server_dev), (self.client_ns, self.client_dev)):
                _run("ip", "-n", ns, "link", "set", dev, "up")
                _run("ip", "-n", ns, "link", "set", "lo", "up")
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for proc in reversed(self._procs):
            self._stop(proc)
        self._procs.clear()
        _run("ip", "netns", "del", self.server_ns, check=False)
        _run("ip", "netns", "del", self.client_ns, check=False)
        for ns in self._extra_ns:
            _run("ip", "netns", "del", ns, check=False)

    _stop = staticmethod(lambda proc, sig=signal.SIGTERM: stop_process(proc, sig))

    def start_server(self, cmd: list[str], port: int, timeout: float = 10.0,
                     proto: str = "tcp") -> subprocess.Popen:
        """Start `cmd` in the server namespace and wait until `port` listens (`proto` "tcp"
        or "udp")."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.server_ns, *cmd])
        self._procs.append(proc)
        deadline = time.monotonic() + timeout
        ss_flags = "-ltn" if proto == "tcp" else "-lun"
        while time.monotonic() < deadline:
            out = _run("ip", "netns", "exec", self.server_ns, "ss", ss_flags, check=False).stdout
            if f":{port} ".encode() in out:
                return proc
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError(f"server did not listen on {port}")

    def start_client(self, cmd: list[str], **popen) -> subprocess.Popen:
        """Start a long-running `cmd` in the client namespace (stopped on exit, by PID)."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.client_ns, *cmd], **popen)
        self._procs.append(proc)
        return proc

    def run_client(self, cmd: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
        """Run `cmd` in the client namespace to completion."""
        return _run("ip", "netns", "exec", self.client_ns, *cmd, timeout=timeout)

    @contextlib.contextmanager
    def capture(self, path: str, bpf: str):
        """tcpdump on the server's interface for the duration of the block; on exit it
        checks the kernel dropped nothing (a capture with drops would show false gaps)."""
        # --immediate-mode: without it, packets still in the ring buffer when tcpdump is
        # interrupted are lost silently (counted "received by filter", never written)
        proc = subprocess.Popen(["ip", "netns", "exec", self.server_ns, "tcpdump", "--immediate-mode",
                                 "-i", self.server_dev, "-B", "131072", "-s", "0", "-w", path, *bpf.split()],
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(path) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # the file appears before the socket is attached
            yield
            time.sleep(0.5)  # let the last packets reach the file
        finally:
            self._stop(proc, signal.SIGINT)
        report = proc.stderr.read()
        if "\n0 packets dropped by kernel" not in report:
            raise RuntimeError(f"capture dropped packets: {report}")

    # -- a SPAN port: a monitor namespace that receives a copy of the server's frames ------
    @property
    def monitor_ns(self) -> str:
        return self.server_ns[:-1] + "m"

    def add_monitor(self) -> tuple[str, str]:
        """A third namespace fed, like a switch's mirror port, with a copy of every frame the
        server's interface receives or sends (tc mirred on a second veth pair). Returns
        (mirror device in the server namespace, monitor device in the monitor namespace):
        capture on the second; tcpreplay into the first also reaches it."""
        tap, mon = self.server_dev[:-1] + "x", self.server_dev[:-1] + "y"
        _run("ip", "netns", "add", self.monitor_ns)
        _run("ip", "-n", self.server_ns, "link", "add", tap, "type", "veth", "peer", "name", mon)
        _run("ip", "-n", self.server_ns, "link", "set", mon, "netns", self.monitor_ns)
        _run("ip", "-n", self.server_ns, "link", "set", tap, "up")
        _run("ip", "-n", self.monitor_ns, "link", "set", mon, "up")
        _run("ip", "-n", self.monitor_ns, "link", "set", "lo", "up")
        _run("tc", "-n", self.server_ns, "qdisc", "add", "dev", self.server_dev, "clsact")
        for hook in ("ingress", "egress"):  # u32 match-all: the classifier every kernel has
            _run("tc", "-n", self.server_ns, "filter", "add", "dev", self.server_dev, hook,
                 "protocol", "all", "u32", "match", "u32", "0", "0",
                 "action", "mirred", "egress", "mirror", "dev", tap)
        self._extra_ns.append(self.monitor_ns)
        return tap, mon

    def disable_offloads(self) -> None:
        """MTU-sized frames on the client/server pair, as a real link carries them: with
        segmentation offloads on, a veth passes (and tc mirred copies) up to 64 KiB
        super-frames that no NIC puts on a wire. Needs ethtool."""
        for ns, dev in ((self.server_ns, self.server_dev), (self.client_ns, self.client_dev)):
            _run("ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "off",
                 "gro", "off", "tx-checksumming", "off")

    def start_in(self, ns: str, cmd: list[str], **popen) -> subprocess.Popen:
        """Start `cmd` in namespace `ns`; it is stopped (SIGTERM, by PID) on exit."""
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], **popen)
        self._procs.append(proc)
        return proc

    def run_in(self, ns: str, cmd: list[str], timeout: float = 30, check: bool = True):
        return _run("ip", "netns", "exec", ns, *cmd, timeout=timeout, check=check)


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop one process we started, by its PID: signal, wait, then kill."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
