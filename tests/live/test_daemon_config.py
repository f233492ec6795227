"""The daemon's configuration: validated in one place, every error as FILE:LINE; command-line
options win; no file = defaults on one interface."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from dlp import daemon_config
from dlp.errors import ConfigError
from tests.live.daemon_helpers import ROOT

GOOD = """version: 1
interfaces:
  - name: eth1
    workers: 2
    bpf: "tcp or udp port 53"
    capture: recv
  - name: eth2
rules: /etc/dlp/rules.yaml
hmac_key: /var/lib/dlp/hmac.key
stats_interval: 10
engine:
  stream_memcap: 1000000
  timeouts: {tcp_established: 120}
outputs:
  eve: {path: /var/log/dlp/eve.json, rotate_mib: 100, keep: 3}
  syslog: {host: 127.0.0.1, port: 6514, protocol: tcp, facility: local3, types: [alert, anomaly]}
  metrics: null
"""


def test_a_full_config_becomes_typed_frozen_settings():
    cfg = daemon_config.parse(GOOD, "dlp.yaml")
    assert [(i.name, i.workers, i.capture) for i in cfg.interfaces] == [("eth1", 2, "recv"), ("eth2", 1, "ring")]
    assert cfg.interfaces[0].bpf == "tcp or udp port 53" and cfg.stats_interval == 10.0
    assert cfg.engine.stream_memcap == 1000000 and cfg.engine.timeouts.tcp_established == 120
    assert cfg.outputs.eve[0].rotate_mib == 100 and cfg.outputs.metrics is None
    assert cfg.outputs.syslog.types == ("alert", "anomaly") and cfg.outputs.syslog.protocol == "tcp"
    with pytest.raises(AttributeError):
        cfg.stats_interval = 1  # frozen


@pytest.mark.parametrize("text, line, words", [
    ("version: 1\ninterfaces:\n  - name: eth1\n    workers: 0\n", 3, "workers must be between 1 and 64"),
    ("version: 1\ninterfaces:\n  - name: eth1\n    capture: pcap\n", 4, "'ring', 'recv'"),
    ("version: 1\nstats_interval: fast\n", 2, "must be a number"),
    ("version: 1\noutputs:\n  syslog: {host: h, facility: mail7}\n", 3, "facility must be one of"),
    ("version: 1\noutputs:\n  syslog: {host: h, types: [alerts]}\n", 3, "unknown event type 'alerts'"),
    ("version: 1\noutputs:\n  metrics: {port: 70000}\n", 3, "out of range"),
    ("version: 1\n\nworkers: 4\n", 3, "unknown key 'workers'"),
    ("version: 1\nengine:\n  max_flows: -1\n", 3, "max_flows must be positive"),
    ("version: 1\ninterfaces:\n  - name: eth1\n  - name: eth1\n", 1, "listed twice"),
    ("version: 2\n", 1, "'version' must be 1"),
    ("version: 1\noutputs:\n  eve:\n    - {path: a.json}\n    - path: ./a.json\n", 5,
     "eve[1]: './a.json' is already an EVE destination"),
    ("version: 1\noutputs:\n  eve:\n    - {path: \"-\"}\n    - {rotate_mib: 1}\n    - {path: \"-\"}\n", 6,
     "eve[2]: '-' is already an EVE destination"),
    ("version: 1\noutputs:\n  eve:\n    - {}\n    - {keep: 2}\n", 5, "'eve.json' is already"),
    ("version: 1\noutputs:\n  eve:\n    - {path: a.json}\n    - {path: b.json, types: [alerts]}\n", 5,
     "eve[1]: unknown event type 'alerts'"),
    ("version: 1\noutputs:\n  eve: {path: a.json, types: []}\n", 3, "types must not be empty"),
    ("version: 1\noutputs:\n  eve: a.json\n", 3, "must be a mapping or a list of mappings"),
    ("version: 1\noutputs:\n  eve: [a.json]\n", 3, "eve[0] must be a mapping"),
    ("version: 1\ninterfaces: [\n", 3, "invalid YAML"),
    ("", 1, "empty config file"),
])
def test_errors_name_file_and_line(text, line, words):
    with pytest.raises(ConfigError) as err:
        daemon_config.parse(text, "dlp.yaml")
    assert str(err.value).startswith(f"dlp.yaml:{line}: ") and words in str(err.value)


def test_command_line_wins_and_no_file_means_one_interface_with_defaults():
    cfg = daemon_config.with_overrides(daemon_config.DaemonConfig(), interface="eth9")
    assert [(i.name, i.workers, i.capture) for i in cfg.interfaces] == [("eth9", 1, "ring")]
    assert cfg.outputs.eve[0].path == "eve.json" and cfg.outputs.metrics.port == 9717
    cfg = daemon_config.with_overrides(daemon_config.parse(GOOD, "dlp.yaml"), workers=3, eve="-", bpf="tcp")
    assert [(i.workers, i.bpf) for i in cfg.interfaces] == [(3, "tcp"), (3, "tcp")]
    assert [(e.path, e.rotate_mib) for e in cfg.outputs.eve] == [("-", 100)]
    with pytest.raises(ConfigError, match="^command line: workers"):
        daemon_config.with_overrides(cfg, workers=0)
    with pytest.raises(ConfigError, match="no interface"):
        daemon_config.with_overrides(daemon_config.DaemonConfig())


def test_eve_is_one_mapping_a_list_or_none():
    def eve(text):
        return daemon_config.parse(f"version: 1\noutputs:\n  eve: {text}\n", "dlp.yaml").outputs.eve

    assert eve("{path: /var/log/e.json, rotate_mib: 5}") == (daemon_config.EveOutput("/var/log/e.json", 5),)
    both = eve("[{path: /var/log/e.json}, {path: '-', types: [alert, dlp_worker]}]")
    assert [(e.path, e.types) for e in both] == [("/var/log/e.json", None), ("-", ("alert", "dlp_worker"))]
    assert eve("null") == () and eve("[]") == ()
    assert daemon_config.parse("version: 1\n").outputs.eve == (daemon_config.EveOutput(),)


def test_eve_on_the_command_line_replaces_the_whole_list():
    cfg = daemon_config.parse("version: 1\ninterfaces: [{name: eth1}]\noutputs:\n  eve:\n"
                              "    - {path: a.json, rotate_mib: 7, types: [flow]}\n    - {path: '-'}\n")
    eve = daemon_config.with_overrides(cfg, eve="/tmp/x.json").outputs.eve
    assert eve == (daemon_config.EveOutput("/tmp/x.json", 7, types=None),)  # every type, first's rotation
    assert daemon_config.with_overrides(dataclasses.replace(cfg, outputs=daemon_config.Outputs(eve=())),
                                        eve="-").outputs.eve == (daemon_config.EveOutput("-"),)


def test_outputs_built_in_code_refuse_a_repeated_destination():
    with pytest.raises(ConfigError, match="'./e.json' is listed twice"):
        daemon_config.Outputs(eve=(daemon_config.EveOutput("e.json"), daemon_config.EveOutput("./e.json")))


@pytest.mark.parametrize("args, words", [
    (["--interface", "nosuch5x"], "interface 'nosuch5x' does not exist"),
    (["--interface", "lo", "--bpf", "tcp and and"], "bad bpf filter"),
    (["--interface", "lo", "--eve", "/nonexistent-dir/eve.json"], "cannot open output"),
    (["--interface", "lo", "--rules", "/nonexistent.yaml"], "cannot read rules file"),
])
def test_cli_mistakes_are_one_line_and_exit_2(args, words, tmp_path):
    cfg = tmp_path / "dlp.yaml"
    cfg.write_text("version: 1\noutputs:\n  metrics: null\n")
    r = subprocess.run([sys.executable, "-m", "dlp", "run", "--config", str(cfg), *args],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_config_error_names_the_line(tmp_path):
    cfg = tmp_path / "dlp.yaml"
    cfg.write_text("version: 1\ninterfaces:\n  - name: lo\n    snaplen: 10\n")
    r = subprocess.run([sys.executable, "-m", "dlp", "run", "--config", str(cfg)],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2 and f"{cfg}:3: " in r.stderr and "snaplen" in r.stderr
