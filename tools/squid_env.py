"""A real Squid (Debian squid-openssl) with ssl_bump and an ICAP service, for tests: its own
config, CA, certificate database, cache, pid and log files in a temporary directory, never
the system ones. Run inside a test network namespace (tools/netns.py):

    with TestNet("dlp6q") as net, SquidEnv(net.client_ns, icap_port=1344, trust=server_ca) as squid:
        curl --proxy http://127.0.0.1:{squid.port} --cacert {squid.ca_cert} https://...

Squid bumps every CONNECT with certificates made on the fly by its CA and sends each request
to icap://127.0.0.1:ICAP_PORT/reqmod (bypass=0: if the service is down, requests fail).
Processes started here are stopped by PID; the directory is removed on exit.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

from tools.netns import stop_process
from tools.test_certs import make_ca

SQUID = "/usr/sbin/squid"
CERTGEN = "/usr/lib/squid/security_file_certgen"
NCSA_AUTH = "/usr/lib/squid/basic_ncsa_auth"
SQUID_USER = "proxy"

CONFIG = """\
# dlp ICAP test proxy (docs/icap.md explains each line)
http_port 127.0.0.1:{port} ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=4MB tls-cert={ca_cert} tls-key={ca_key}
sslcrtd_program {certgen} -s {dir}/ssl_db -M 4MB
sslcrtd_children 2 startup=1 idle=1
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump bump all
tls_outgoing_options cafile={trust}
{access}
http_access deny all

icap_enable on
icap_send_client_ip on
icap_send_client_username on
icap_client_username_header X-Authenticated-User
icap_client_username_encode on
icap_preview_enable on
icap_preview_size {preview}
icap_persistent_connections on
icap_service dlp_req reqmod_precache bypass=0 icap://127.0.0.1:{icap_port}/reqmod
adaptation_access dlp_req allow all

cache deny all
cache_mem 8 MB
pid_filename {dir}/squid.pid
cache_log {dir}/cache.log
access_log stdio:{dir}/access.log
coredump_dir {dir}
netdb_filename none
dns_nameservers 127.0.0.1
visible_hostname dlp-icap-test
shutdown_lifetime 1 seconds
cache_effective_user {user}
"""


class SquidEnv:
    def __init__(self, ns: str, icap_port: int, trust: str, port: int = 3128, preview: int = 1024,
                 users: dict[str, str] | None = None):
        """`users` (name -> password): proxy authentication (Basic), so Squid sends the
        user name to the ICAP service; without it any local client may use the proxy."""
        self.ns, self.icap_port, self.trust, self.port, self.preview = ns, icap_port, trust, port, preview
        self.users = users or {}
        self.dir = ""
        self.proc: subprocess.Popen | None = None
        self.ca_cert = self.ca_key = ""

    def __enter__(self) -> "SquidEnv":
        self.dir = tempfile.mkdtemp(prefix="dlp6-squid-")
        try:
            self._prepare()
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, SQUID, "-N", "-f", self.config],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            wait_listening(self.ns, self.port, self.proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _prepare(self) -> None:
        os.chmod(self.dir, 0o755)  # squid runs as `proxy`: it must reach its files
        self.ca_cert, self.ca_key = make_ca(self.dir, "dlp squid test CA", "squid-ca")
        trust = os.path.join(self.dir, "upstream-ca.pem")
        shutil.copy(self.trust, trust)
        subprocess.run([CERTGEN, "-c", "-s", os.path.join(self.dir, "ssl_db"), "-M", "4MB"],
                       check=True, capture_output=True, timeout=30)
        access = "http_access allow localhost"
        if self.users:
            passwd = os.path.join(self.dir, "passwd")
            with open(passwd, "w") as fh:
                for name, password in self.users.items():
                    hashed = subprocess.run(["openssl", "passwd", "-apr1", password], check=True,
                                            capture_output=True, text=True, timeout=30).stdout.strip()
                    fh.write(f"{name}:{hashed}\n")
            access = "\n".join([f"auth_param basic program {NCSA_AUTH} {passwd}",
                                 "auth_param basic realm dlp-test", "acl users proxy_auth REQUIRED",
                                 "http_access allow localhost users"])
        self.config = os.path.join(self.dir, "squid.conf")
        with open(self.config, "w") as fh:
            fh.write(CONFIG.format(port=self.port, ca_cert=self.ca_cert, ca_key=self.ca_key, certgen=CERTGEN,
                                   dir=self.dir, trust=trust, access=access, preview=self.preview,
                                   icap_port=self.icap_port, user=SQUID_USER))
        shutil.chown(self.dir, SQUID_USER)
        for root, dirs, files in os.walk(self.dir):
            for name in dirs + files:
                shutil.chown(os.path.join(root, name), SQUID_USER)

    def log(self, name: str = "cache.log") -> str:
        try:
            with open(os.path.join(self.dir, name), errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop(self.proc, signal.SIGTERM)
            self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = ""


def wait_listening(ns: str, port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Until something in namespace `ns` listens on TCP `port` (or `proc` exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-ltn"], capture_output=True,
                             timeout=10).stdout
        if f":{port} ".encode() in out:
            return
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}: {err}")
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on {port} within {timeout} s")


stop = stop_process  # by PID: signal, wait, then kill
