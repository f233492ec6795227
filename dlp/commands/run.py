"""`dlp run`: the live capture daemon on a mirror (SPAN) port.

    dlp run --interface eth1 [--config FILE] [--rules FILE] [--eve PATH|-] [--workers N]
            [--bpf EXPR] [--snaplen N] [--keylog KEYS]

Options given on the command line win over the config file (dlp/daemon_config.py). Every
check (config, rules, interface, BPF filter, HMAC key, outputs) happens before any worker
starts: a mistake is a one-line error and exit code 2.
"""

from __future__ import annotations

import dataclasses
import functools
import os

from dlp import daemon_config
from dlp.errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="capture live from a mirror interface (the daemon)")
    p.add_argument("--interface", "-i", help="mirror interface (replaces the config's list)")
    p.add_argument("--config", help="daemon configuration YAML (see docs/span-deployment.md)")
    p.add_argument("--rules", default=None, help="rules file (default: the shipped policy)")
    p.add_argument("--eve", default=None, metavar="PATH|-", help="EVE-JSON output file, or - for stdout")
    p.add_argument("--workers", type=int, help="worker processes per interface")
    p.add_argument("--bpf", help="capture filter, tcpdump syntax")
    p.add_argument("--snaplen", type=int, help="bytes kept per frame (0 = all)")
    p.add_argument("--keylog", metavar="KEYS",
                   help="TLS key log of the intercepting proxy: decrypt its TLS flows (docs/icap.md)")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run)


def run(args) -> int:
    from dlp.cli import DEFAULT_RULES, load_rules
    from dlp.install_key import ENV_VAR, load_or_create_key
    from dlp.live.capture import check_permission
    from dlp.live.outputs import OutputSet
    from dlp.live.supervisor import Supervisor
    from dlp.outputs.metrics import Metrics

    cfg = daemon_config.load(args.config) if args.config else daemon_config.DaemonConfig()
    cfg = daemon_config.with_overrides(cfg, args.interface, args.workers, args.bpf,
                                       args.snaplen, args.rules, args.eve)
    check_permission()
    if cfg.hmac_key:
        os.environ[ENV_VAR] = cfg.hmac_key  # the detectors' default key file (workers inherit it)
        try:
            load_or_create_key(cfg.hmac_key)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{cfg.path}: hmac_key {cfg.hmac_key}: {exc}") from None
    ruleset = load_rules(cfg.rules)
    try:
        ruleset.build_detectors()  # a detector that cannot start fails here, not in a worker
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{ruleset.path}: detectors cannot start: {exc}") from None
    if cfg.engine is not None:
        ruleset = dataclasses.replace(ruleset, engine=cfg.engine)
    specs = worker_specs(cfg, cfg.rules or DEFAULT_RULES, keylog_factory(args.keylog))
    metrics = Metrics()
    try:
        outputs = OutputSet(cfg.outputs, metrics)
    except OSError as exc:
        raise ConfigError(f"cannot open output: {exc}") from None
    m = cfg.outputs.metrics
    return Supervisor(specs, ruleset, outputs, metrics, (m.host, m.port) if m else None).run()


def keylog_factory(keylog: str | None):
    """With a key log, workers build the decrypting pipeline (dlp/tls/live_pipeline.py): TLS
    flows' packets also go to a tshark per worker, which reads keys as the proxy writes them."""
    if keylog is None:
        return None
    from dlp.tls.keylog import check_keylog
    from dlp.tls.live_pipeline import LiveKeylogPipeline

    return functools.partial(LiveKeylogPipeline, keylog=os.path.abspath(check_keylog(keylog)))


def worker_specs(cfg: daemon_config.DaemonConfig, rules_path: str, pipeline_factory=None) -> list:
    """One WorkerSpec per worker; each interface's workers share a fanout group."""
    from dlp.live.capture import READERS, compile_bpf, interface_index
    from dlp.live.worker import WorkerSpec

    specs = []
    for group, iface in enumerate(cfg.interfaces):
        interface_index(iface.name)  # fails now if it does not exist
        bpf = compile_bpf(iface.name, iface.bpf, iface.snaplen) if iface.bpf or iface.snaplen else None
        options = {"fanout_group": (os.getpid() + group) & 0xFFFF, "bpf": bpf,
                   "promisc": iface.promisc, "defrag": iface.fanout_defrag}
        if iface.capture == "ring":
            options["ring_mib"] = iface.ring_mib
        else:
            options["rcvbuf_mib"] = iface.ring_mib
        for _ in range(iface.workers):
            specs.append(WorkerSpec(len(specs), iface.name, READERS[iface.capture], options,
                                    rules_path, cfg.stats_interval,
                                    pipeline_factory=pipeline_factory,
                                    kernel_bypass_flows=iface.bypass_max_flows if iface.kernel_bypass else 0))
    return specs
