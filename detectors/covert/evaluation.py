"""What the DNS tunnel model does on captures it never saw: window-level precision, recall
and F1 at the threshold, and, replaying each capture through the real detector with the saved
model, per capture: alerts on the tunnel's domain, false alerts, and for tunnels the seconds
and queries of tunnel traffic before the first alert."""

from __future__ import annotations

from collections import defaultdict

from detectors.covert.dns_features import NameScorer
from detectors.covert.training import Capture, Rows, replay, transactions, window_rows


def window_metrics(scores: list[float], labels: list[int], threshold: float) -> dict:
    tp = sum(1 for s, y in zip(scores, labels) if s >= threshold and y)
    fp = sum(1 for s, y in zip(scores, labels) if s >= threshold and not y)
    fn = sum(1 for s, y in zip(scores, labels) if s < threshold and y)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"rows": len(labels), "positive": sum(labels), "tp": tp, "fp": fp, "fn": fn,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def capture_result(cap: Capture, model_path: str) -> dict:
    """Replay `cap` through a fresh detector using the model at `model_path`."""
    from detectors.dns_tunnel import DnsTunnelDetector, DnsTunnelParams

    detector = DnsTunnelDetector(DnsTunnelParams(model_path=model_path))
    findings = replay(cap.path, [detector])
    domains = {d.decode() for d in cap.tunnel_domains}
    hits = [(f, item) for f, item in findings if f.objects["covert"]["domain"] in domains]
    result = {"capture": cap.name, "family": cap.family, "label": cap.label,
              "alerts": len(hits), "false_alerts": len(findings) - len(hits),
              "false_domains": sorted({f.objects["covert"]["domain"] for f, _ in findings} - domains)}
    if cap.label == "tunnel":
        first = min((t.ts for t in transactions(cap.path)
                     if detector.tracker.key(t)[1] in cap.tunnel_domains), default=None)
        result["detected"] = bool(hits)
        if hits and first is not None:
            finding, item = hits[0]
            result["seconds_to_alert"] = round((item.ts - first) / 1e6, 2)
            result["queries_to_alert"] = finding.objects["covert"]["queries"]
            result["score"] = finding.objects["covert"]["score"]
    return result


def evaluate(captures: list[Capture], model, model_path: str) -> dict:
    names = NameScorer()
    rows = Rows()
    for cap in captures:
        window_rows(cap, names, rows)
    scores = model.scores(rows.x) if rows.x else []
    per_family: dict[str, dict] = defaultdict(lambda: {"rows": 0, "alerting_rows": 0})
    by_name = {c.name: c for c in captures}
    for s, y, name in zip(scores, rows.y, rows.capture):
        if not y:
            cap = by_name[name]
            fam = per_family[cap.family if cap.label == "benign" else f"background lookups in {cap.family}"]
            fam["rows"] += 1
            fam["alerting_rows"] += int(s >= model.threshold)
    return {"windows": window_metrics(scores, rows.y, model.threshold),
            "benign_windows_by_family": dict(per_family),
            "captures": [capture_result(c, model_path) for c in captures]}
