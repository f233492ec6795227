"""Record the HTTP DLP corpus in pcaps/http/: real clients (curl, Python's http.client and
requests) talk to a real server (tools/http_test_server.py) across two network namespaces;
tcpdump records each case into its own pcap. manifest.json says what each case holds and
which detectors must (and must not) alert.

    python -m tools.record_http_corpus [OUT_DIR]     # needs root, tcpdump, curl

Deterministic content (seeded); the captures differ run to run only in ports, times and ISNs.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import random
import sys
import tarfile
import tempfile

import brotli

from tools import dlp_samples as s
from tools.netns import TestNet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT = 8080
CURL = ["curl", "-sS", "--max-time", "20", "-o", "/dev/null"]

CHUNKED_CLIENT = r'''
import http.client, sys
host, port, path, body, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], open(sys.argv[4], "rb").read(), int(sys.argv[5])
conn = http.client.HTTPConnection(host, port, timeout=10)
pieces = [body[i:i + size] for i in range(0, len(body), size)]  # chunk boundaries fall inside numbers
conn.request("POST", path, body=iter(pieces), headers={"Content-Type": "application/json"}, encode_chunked=True)
conn.getresponse().read()
conn.close()
'''

REQUESTS_CLIENT = r'''
import requests, sys
url, path = sys.argv[1], sys.argv[2]
with requests.Session() as session:  # one keep-alive connection for all three
    session.post(url + "/notes", data={"note": "lunch at noon"}, timeout=10)
    session.post(url + "/upload", files={"file": ("export.csv", open(path, "rb"), "text/csv")}, timeout=10)
    session.post(url + "/notes", data={"note": "see you tomorrow"}, timeout=10)
'''


def build_files(d: str) -> dict[str, str]:
    rng = random.Random(2026)
    numbers = s.cards(rng, 20)
    files = {
        "cards.json": s.customers_json(rng, numbers[:3]),
        "cards.csv": s.customers_csv(numbers),
        "cards.docx": s.docx(["Customer list for the renewal campaign."] +
                             [f"Card {s.grouped(n)} expires 12/29" for n in numbers[:5]]),
        "cards.xlsx": s.xlsx(["card number"] + numbers[:5]),
        "cards.pdf": s.pdf(["Payment details"] + [f"Card number {s.grouped(n)}" for n in numbers[5:9]]),
        "code.zip": s.code_zip(),
        "reconcile.py": s.PYTHON_SRC.encode(),
        "lookalikes.json": s.lookalikes(rng),
        "prose.txt": s.PROSE.encode(),
        "page.html": s.html_page(numbers[9:12]),
        "app.min.js": s.minified_js(rng),
        "photo.jpg": b"\xff\xd8\xff\xe0" + bytes(rng.getrandbits(8) for _ in range(30000)),
        "cards-br.json": brotli.compress(s.customers_json(rng, numbers[12:15])),
        "cards.json.gz": gzip.compress(s.customers_json(rng, numbers[15:18])),
        "paste.json": json.dumps({"title": "helper", "content": s.PYTHON_SRC}).encode(),
        "b64zip.json": json.dumps({"name": "backup", "data": base64.b64encode(s.code_zip()).decode()}).encode(),
        "secrets.env": (b"AWS_ACCESS_KEY_ID=AKIAQ7RZ3XK5T2M4LW6N\n"
                        b"AWS_SECRET_ACCESS_KEY=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\n"
                        b"GITHUB_TOKEN=ghp_4Fz8Kq2Lm7Np1Rs5Tv9Wx3Yb6Cd0Ef2Gh4Jk\n"),
        "cards-form.txt": ("cardnumber=" + s.grouped(numbers[18], "%20") + "&exp=12%2F29&name=J+Doe").encode(),
    }
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:gz") as t:
        for name in ("reconcile.py",):
            info = tarfile.TarInfo("src/" + name)
            info.size = len(files[name])
            t.addfile(info, io.BytesIO(files[name]))
    files["src.tar.gz"] = tar.getvalue()
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(data)
    return {name: os.path.join(d, name) for name in files}


def cases(f: dict[str, str], url: str) -> list[tuple[str, str, list[list[str]], dict]]:
    """(name, description, client commands, expected alerts by detector)"""
    py = sys.executable
    host, port = url.split("//")[1].split(":")
    return [
        ("json-cards-upload", "curl POSTs JSON with 3 card numbers and their field names",
         [CURL + ["-H", "Content-Type: application/json", "--data-binary", f"@{f['cards.json']}", url + "/api/customers"]],
         {"pan": 1}),
        ("form-cards-urlencoded", "curl POSTs a form whose cardnumber field is URL-encoded with %20 separators",
         [CURL + ["-H", "Content-Type: application/x-www-form-urlencoded", "--data-binary",
                  f"@{f['cards-form.txt']}", url + "/checkout"]], {"pan": 1}),
        ("multipart-csv-keepalive", "python requests: three POSTs on one keep-alive connection; only the "
         "second (a multipart CSV with 20 cards) leaks", [[py, "-c", REQUESTS_CLIENT, url, f["cards.csv"]]], {"pan": 1}),
        ("chunked-split-cards", "http.client sends JSON chunked in 7-byte chunks: every number is split "
         "across chunk and segment boundaries", [[py, "-c", CHUNKED_CLIENT, host, port, "/api/import",
                                                   f["cards.json"], "7"]], {"pan": 1}),
        ("gzip-request-body", "curl POSTs a gzip-encoded JSON body (Content-Encoding: gzip)",
         [CURL + ["-H", "Content-Encoding: gzip", "-H", "Content-Type: application/json", "--data-binary",
                  f"@{f['cards.json.gz']}", url + "/api/customers"]], {"pan": 1}),
        ("br-request-body", "curl POSTs a brotli-encoded JSON body (Content-Encoding: br)",
         [CURL + ["-H", "Content-Encoding: br", "-H", "Content-Type: application/json", "--data-binary",
                  f"@{f['cards-br.json']}", url + "/api/customers"]], {"pan": 1}),
        ("docx-upload", "curl multipart upload of a .docx with 5 card numbers",
         [CURL + ["-F", f"file=@{f['cards.docx']}", url + "/upload"]], {"pan": 1}),
        ("xlsx-upload", "curl multipart upload of an .xlsx with 5 card numbers",
         [CURL + ["-F", f"file=@{f['cards.xlsx']}", url + "/upload"]], {"pan": 1}),
        ("pdf-upload", "curl PUTs a PDF (FlateDecode text) with 4 card numbers",
         [CURL + ["-T", f["cards.pdf"], url + "/docs/cards.pdf"]], {"pan": 1}),
        ("code-zip-upload", "curl multipart upload of a zip of Python, C and Go sources",
         [CURL + ["-F", f"archive=@{f['code.zip']}", url + "/upload"]], {"source_code": 1}),
        ("code-tar-upload", "curl POSTs a .tar.gz holding a Python module",
         [CURL + ["-H", "Content-Type: application/gzip", "--data-binary", f"@{f['src.tar.gz']}", url + "/backup"]],
         {"source_code": 1}),
        ("code-paste-json", "curl POSTs a pastebin-style JSON whose content field is a Python file",
         [CURL + ["-H", "Content-Type: application/json", "--data-binary", f"@{f['paste.json']}", url + "/api/paste"]],
         {"source_code": 1}),
        ("code-b64-json", "curl POSTs JSON with a base64 string that is a zip of sources",
         [CURL + ["-H", "Content-Type: application/json", "--data-binary", f"@{f['b64zip.json']}", url + "/api/backup"]],
         {"source_code": 1}),
        ("secrets-upload", "curl multipart upload of an .env file with AWS and GitHub credentials",
         [CURL + ["-F", f"file=@{f['secrets.env']}", url + "/upload"]], {"secret": 1}),
        ("negative-lookalikes", "curl POSTs order ids (some Luhn-valid), phones, epoch-ms, floats, UUIDs, IBANs",
         [CURL + ["-H", "Content-Type: application/json", "--data-binary", f"@{f['lookalikes.json']}", url + "/api/orders"]],
         {}),
        ("negative-prose-image", "curl uploads prose and a JPEG",
         [CURL + ["-F", f"text=@{f['prose.txt']}", "-F", f"photo=@{f['photo.jpg']}", url + "/upload"]], {}),
        ("negative-downloads", "curl downloads an HTML page showing cards, minified JS, a Python file, the "
         "card CSV (gzip, br, zstd and chunked): downloads raise nothing by default",
         [["curl", "-sS", "--max-time", "20"] + [arg for path in (
             "/files/page.html", "/enc/gzip/app.min.js", "/enc/br/reconcile.py", "/enc/zstd/cards.csv",
             "/chunked/cards.json") for arg in ("-o", "/dev/null", url + path)]], {}),
    ]


def record(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    manifest = {}
    with tempfile.TemporaryDirectory() as tmp, TestNet() as net:
        files = build_files(tmp)
        net.start_server([sys.executable, "-m", "tools.http_test_server", str(PORT), tmp], PORT)
        url = f"http://{net.server_ip}:{PORT}"
        for name, description, commands, expect in cases(files, url):
            pcap = os.path.join(out_dir, name + ".pcap")
            with net.capture(pcap, f"tcp port {PORT}"):
                for cmd in commands:
                    net.run_client(cmd)
            os.chmod(pcap, 0o644)
            manifest[name] = {"description": description, "expect": expect}
            print("recorded", pcap)
    with open(os.path.join(out_dir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", ROOT)
    record(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "pcaps", "http"))
