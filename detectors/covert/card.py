"""The DNS tunnel model card (models/dns_tunnel.md), written by `dlp train` from the facts of
training and held-out evaluation, so the card always describes the shipped file."""

from __future__ import annotations

from detectors.covert.dns_features import FEATURES, TIMING_FEATURES


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _capture_rows(captures: list[dict]) -> list[list]:
    rows = []
    for c in captures:
        if c["label"] == "tunnel":
            got = "yes" if c.get("detected") else "**no**"
            rows.append([c["capture"], c["family"], got, c.get("seconds_to_alert", "-"),
                         c.get("queries_to_alert", "-"), c.get("score", "-"), c["false_alerts"]])
        else:
            rows.append([c["capture"], c["family"], "(benign)", "-", "-", "-", c["false_alerts"]])
    return rows


def render(card: dict, command: str) -> str:
    held = card["heldout"]
    w = held["windows"]
    lines = [
        "# DNS tunnel model (`models/dns_tunnel.skops`)", "",
        "Written by `dlp train`; do not edit by hand. Rebuild the model and this card with:", "",
        f"    {command}", "",
        "## What it is", "",
        "A scikit-learn random forest (100 trees, depth <= 8, balanced class weights) scoring",
        "windows of DNS queries per (client, registered domain); see detectors/dns_tunnel.py and",
        "docs/covert-dns.md. Stored with skops; loading trusts only the types listed in",
        "detectors/covert/model.py (TRUSTED). Never a pickle.", "",
        f"- threshold: **{card['threshold']}** (even odds with balanced class weights); out-of-bag, "
        f"{card['oob_benign_alerting'][1]} of {card['oob_benign_alerting'][0]} benign training windows",
        "  reach it (scored by trees that never saw them)",
        f"- training data sha256 (manifest + every capture): `{card['data_sha256']}`",
        f"- seed {card['seed']}; libraries: " + ", ".join(f"{k} {v}" for k, v in card["versions"].items()),
        f"- training windows: {card['train_rows']} ({card['train_positive_rows']} tunnel); "
        f"out-of-bag accuracy {card['oob_score']}", "",
        "## Features", "",
        "Computed on the labels left of the registered domain only (the zone's own name is never a",
        "feature), averaged over the window: " + ", ".join(f"`{f}`" for f in FEATURES if f.startswith("mean_")) + ";",
        "and per window: " + ", ".join(f"`{f}`" for f in FEATURES if not f.startswith("mean_")
                                       and f not in TIMING_FEATURES) + ".",
        "Timing (" + ", ".join(f"`{f}`" for f in TIMING_FEATURES) + ") is computed but not used: lab",
        "captures run at loopback speed, so it would learn the lab, not tunnels.", "",
        "Importance: " + ", ".join(f"{n} {v}" for n, v in card["importances"][:8]) + ".", "",
        "## Training captures (pcaps/covert/train)", "",
    ]
    cv = card["cv_by_capture"]
    lines += ["Leave-one-capture-out: each capture scored by a model trained without it (so without",
              "its family), at the threshold. A family with no relative in training is the weak spot.", ""]
    lines += _table(["capture", "family", "DNS transactions", "windows (tunnel)", "left-out windows alerting"],
                    [[n, f, card["train_queries"].get(n, "-"), f"{cv.get(n, [0, 0, 0])[0]} ({cv.get(n, [0, 0, 0])[1]})",
                      cv.get(n, [0, 0, 0])[2]] for n, f in card["train_captures"].items()])
    lines += ["", "## Held-out evaluation (pcaps/covert/heldout: other record types, encodings, tools,",
              "zones and benign domains than training)", "",
              f"Windows: precision **{w['precision']}**, recall **{w['recall']}**, F1 **{w['f1']}** "
              f"({w['rows']} windows, {w['positive']} tunnel; tp {w['tp']}, fp {w['fp']}, fn {w['fn']}).", "",
              "Replayed through the detector (one alert per client and domain per window):", ""]
    lines += _table(["capture", "family", "caught", "s to alert", "queries to alert", "score", "false alerts"],
                    _capture_rows(held["captures"]))
    lines += ["", "False alarms per benign family (held-out windows scored / at or above threshold):", ""]
    lines += _table(["family", "windows", "alerting"],
                    [[f, v["rows"], v["alerting_rows"]] for f, v in sorted(held["benign_windows_by_family"].items())])
    if card.get("public"):
        lines += ["", "## Independent evaluation: public captures (../shared/data/covert, never trained on)", ""]
        lines += _table(["capture", "family", "caught", "s to alert", "queries to alert", "score", "false alerts"],
                        _capture_rows(card["public"]))
    lines += ["", "## Limits", "",
              "- The held-out captures were looked at while the features (length spread, label shape,",
              "  service labels) and the benign families were designed, so they are not a pristine test;",
              "  the public captures were never tuned on and are the independent figure.",
              "- Trained on lab traffic: iodine, dns2tcp and a scripted exfiltration through dnsmasq, and",
              "  generated benign families. Real networks have query mixes the lab lacks; use",
              "  `allow_domains` for a noisy legitimate service and report it.",
              "- A tunnel spread over many registered domains, or a few queries per window, stays",
              "  under the scoring floor (`min_queries`).", ""]
    return "\n".join(lines)
