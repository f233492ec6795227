"""Throughput of the classifier, for capacity planning (not a test):
    python -m detectors.code.bench [MB]
Classifies a mix of source files and non-code text (generated in memory) and reports MB/s."""

from __future__ import annotations

import random
import sys
import time

from detectors.code.classifier import classify

_CODE = '''def handle(self, request, *args, **kwargs):
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    orders = Order.objects.filter(owner=user).order_by("-created")[:50]
    total = sum(o.amount for o in orders)
    return render(request, "orders.html", {"orders": orders, "total": total})
'''
_PROSE = ("The quarterly review showed that most teams met their goals, although the support "
          "backlog grew during the holiday period and needs attention in the new year.\n")
_LOG = '10.0.0.{n} - - [14/Mar/2024:10:00:01 +0000] "GET /api/x/{n} HTTP/1.1" 200 512 "-" "curl/8"\n'


def sample_texts(total_bytes: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    texts, size = [], 0
    while size < total_bytes:
        kind = rng.randrange(4)
        reps = rng.randrange(3, 40)
        if kind == 0:
            t = _CODE * reps
        elif kind == 1:
            t = _PROSE * reps * 2
        elif kind == 2:
            t = "".join(_LOG.format(n=i) for i in range(reps * 5))
        else:
            t = '{"items": [' + ",".join(f'{{"id": {i}, "v": "x{i}"}}' for i in range(reps * 20)) + "]}"
        texts.append(t)
        size += len(t)
    return texts


def benchmark(megabytes: float = 4.0) -> dict:
    texts = sample_texts(int(megabytes * 1024 * 1024))
    nbytes = sum(len(t) for t in texts)
    start = time.perf_counter()
    code = sum(1 for t in texts if classify(t).is_code)
    elapsed = time.perf_counter() - start
    return {"texts": len(texts), "bytes": nbytes, "code_texts": code, "seconds": round(elapsed, 3),
            "mb_per_s": round(nbytes / 1e6 / elapsed, 2) if elapsed else None}


if __name__ == "__main__":
    print(benchmark(float(sys.argv[1]) if len(sys.argv) > 1 else 4.0))
