"""`dlp train`: rebuild the DNS tunnel model and its card from labelled captures.

    dlp train --manifest pcaps/covert/manifest.json --out models/dns_tunnel.skops

Trains on the manifest's `train` captures, saves the model (skops), replays the `heldout`
captures through the detector with it, and writes the model card beside it (`.md`), with the
public captures' results too when `--public DIR` (../shared/data/covert) is given.
"""

from __future__ import annotations

import os
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train the DNS tunnel model from labelled captures")
    p.add_argument("--manifest", default="pcaps/covert/manifest.json",
                   help="labelled captures (default pcaps/covert/manifest.json)")
    p.add_argument("--out", default="models/dns_tunnel.skops", help="model file to write")
    p.add_argument("--card", default=None, help="model card to write (default: OUT with .md)")
    p.add_argument("--public", default=None, metavar="DIR",
                   help="also evaluate the public tunnel captures in DIR (../shared/data/covert)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=0.5,
                   help="score at which a window alerts, stored in the model (default 0.5)")
    p.set_defaults(func=run)


def command_line(args) -> str:
    words = ["dlp train", "--manifest", args.manifest, "--out", args.out]
    if args.threshold != 0.5:
        words += ["--threshold", str(args.threshold)]
    if args.public:
        words += ["--public", args.public]
    return " ".join(words)


def run(args) -> int:
    from dlp.errors import ConfigError

    if not 0.0 < args.threshold <= 1.0:
        raise ConfigError(f"--threshold {args.threshold}: must be above 0 and at most 1")
    from detectors.covert import card as model_card
    from detectors.covert import evaluation, model, public, training

    tunnel_model, card = training.build(args.manifest, args.seed, args.threshold)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    model.save(tunnel_model, args.out)
    heldout = [c for c in training.load_manifest(args.manifest) if c.split == "heldout"]
    card["heldout"] = evaluation.evaluate(heldout, tunnel_model, args.out)
    if args.public:
        card["public"] = [evaluation.capture_result(c, args.out) for c in public.captures(args.public)]
    model.save(model.TunnelModel(tunnel_model.estimator, tunnel_model.features, tunnel_model.threshold, card),
               args.out)
    card_path = args.card or os.path.splitext(args.out)[0] + ".md"
    with open(card_path, "w", encoding="utf-8") as fh:
        fh.write(model_card.render(card, command_line(args)))
    w = card["heldout"]["windows"]
    print(f"{args.out}: threshold {tunnel_model.threshold}; held-out windows precision {w['precision']} "
          f"recall {w['recall']} F1 {w['f1']}; card {card_path}", file=sys.stderr)
    return 0
