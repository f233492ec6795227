"""Sample content for DLP captures: valid card numbers, documents that carry them, source
code, and the look-alikes that must not alert. Deterministic for a given seed."""

from __future__ import annotations

import io
import json
import random
import zipfile
import zlib

# brand: (prefixes, length) — real IIN ranges, numbers made up and Luhn-completed
BRANDS = {
    "visa": (["4"], 16), "mastercard": (["51", "55", "2221", "2720"], 16), "amex": (["34", "37"], 15),
    "discover": (["6011", "65"], 16), "jcb": (["3530", "3589"], 16), "diners": (["36"], 14),
    "unionpay": (["62"], 16), "maestro": (["6759"], 16), "visa19": (["4"], 19),
}


def luhn_complete(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return partial + str((10 - total % 10) % 10)


def card(rng: random.Random, brand: str) -> str:
    prefixes, length = BRANDS[brand]
    prefix = rng.choice(prefixes)
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def cards(rng: random.Random, n: int) -> list[str]:
    brands = list(BRANDS)
    return [card(rng, brands[i % len(brands)]) for i in range(n)]


def grouped(number: str, sep: str = " ") -> str:
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


def customers_json(rng: random.Random, numbers: list[str]) -> bytes:
    rows = [{"name": f"Customer {i}", "card_number": n, "exp": "12/29", "cvv": f"{rng.randrange(1000):03d}"}
            for i, n in enumerate(numbers)]
    return json.dumps({"customers": rows}, indent=1).encode()


def customers_csv(numbers: list[str]) -> bytes:
    lines = ["id,name,card,expiry"] + [f"{i},Customer {i},{grouped(n, '-')},12/29" for i, n in enumerate(numbers)]
    return ("\n".join(lines) + "\n").encode()


def docx(paragraphs: list[str]) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w='
           '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>' + body + "</w:body></w:document>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", doc)
    return out.getvalue()


def xlsx(cells: list[str]) -> bytes:
    strings = "".join(f"<si><t>{c}</t></si>" for c in cells)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr("xl/sharedStrings.xml", '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
                   f'spreadsheetml/2006/main" count="{len(cells)}">{strings}</sst>')
        z.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet/>')
    return out.getvalue()


def pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text is in a FlateDecode content stream."""
    ops = "BT /F1 11 Tf 50 780 Td 14 TL " + " ".join(f"({t}) Tj T*" for t in lines) + " ET"
    stream = zlib.compress(ops.encode("latin-1"))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    return pdf_file(objs, b"%PDF-1.4\n")


def pdf_file(objects: list[bytes], header: bytes = b"%PDF-1.7\n") -> bytes:
    """A PDF file from object bodies (numbered from 1), with a correct xref table."""
    out, offsets = bytearray(header), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PYTHON_SRC = '''"""Billing reconciliation jobs."""

import csv
import logging
from dataclasses import dataclass
from decimal import Decimal

log = logging.getLogger(__name__)


@dataclass
class Invoice:
    number: str
    amount: Decimal
    paid: bool = False


def load_invoices(path):
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            yield Invoice(row["number"], Decimal(row["amount"]), row.get("paid") == "1")


def reconcile(invoices, payments):
    """Mark invoices paid when a payment of the same amount references them."""
    by_number = {inv.number: inv for inv in invoices}
    unmatched = []
    for ref, amount in payments:
        inv = by_number.get(ref)
        if inv is None or inv.amount != amount:
            unmatched.append((ref, amount))
            continue
        inv.paid = True
    log.info("reconciled %d invoices, %d payments unmatched", len(by_number), len(unmatched))
    return unmatched


if __name__ == "__main__":
    import sys
    print(reconcile(load_invoices(sys.argv[1]), []))
'''

C_SRC = '''#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_SIZE 1024

struct ring {
    unsigned char buf[RING_SIZE];
    size_t head;
    size_t tail;
};

static int ring_put(struct ring *r, unsigned char c)
{
    size_t next = (r->head + 1) % RING_SIZE;
    if (next == r->tail)
        return -1;              /* full */
    r->buf[r->head] = c;
    r->head = next;
    return 0;
}

static int ring_get(struct ring *r, unsigned char *c)
{
    if (r->head == r->tail)
        return -1;              /* empty */
    *c = r->buf[r->tail];
    r->tail = (r->tail + 1) % RING_SIZE;
    return 0;
}

int main(int argc, char **argv)
{
    struct ring r;
    memset(&r, 0, sizeof(r));
    for (int i = 1; i < argc; i++)
        for (const char *p = argv[i]; *p; p++)
            ring_put(&r, (unsigned char)*p);
    unsigned char c;
    while (ring_get(&r, &c) == 0)
        putchar(c);
    putchar('\\n');
    return EXIT_SUCCESS;
}
'''

GO_SRC = '''package ledger

import (
	"errors"
	"fmt"
	"sort"
)

// Entry is one posting in the ledger.
type Entry struct {
	Account string
	Cents   int64
}

var ErrUnbalanced = errors.New("ledger: entries do not balance")

// Balance checks that a transaction's entries sum to zero and returns per-account totals.
func Balance(entries []Entry) (map[string]int64, error) {
	totals := make(map[string]int64)
	var sum int64
	for _, e := range entries {
		totals[e.Account] += e.Cents
		sum += e.Cents
	}
	if sum != 0 {
		return nil, fmt.Errorf("%w: off by %d", ErrUnbalanced, sum)
	}
	return totals, nil
}

// Accounts lists the accounts touched, sorted.
func Accounts(totals map[string]int64) []string {
	names := make([]string, 0, len(totals))
	for name := range totals {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
'''

PROSE = ("Quarterly update for the regional sales team. Revenue grew in the north and west "
         "regions, while the south saw delays in shipping caused by the port strike. Please "
         "send your forecasts for the next quarter before Friday, and remember that travel "
         "expenses above the usual limit need approval from your manager. The offsite is "
         "planned for the second week of March; details follow in a separate message.\n") * 6


def code_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("billing/reconcile.py", PYTHON_SRC)
        z.writestr("tools/ring.c", C_SRC)
        z.writestr("ledger/balance.go", GO_SRC)
        z.writestr("README.md", "# internal tools\n\nBuild with make.\n")
    return out.getvalue()


def order_ids(rng: random.Random, n: int) -> list[str]:
    """16-digit order ids: some happen to be Luhn-valid, as real ones do."""
    return ["".join(rng.choice("0123456789") for _ in range(16)) for _ in range(n)]


def lookalikes(rng: random.Random) -> bytes:
    """Numbers that are not card numbers: order ids, phones, epoch-ms, floats, UUIDs, IBANs."""
    rows = []
    for i, oid in enumerate(order_ids(rng, 40)):
        rows.append({
            "order_id": oid, "phone": f"+1 (555) {rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
            "created_ms": 1_700_000_000_000 + rng.randrange(10**9), "amount": f"{rng.random() * 1e4:.2f}",
            "ratio": f"0.{rng.randrange(10**16):016d}", "uuid": f"{rng.getrandbits(128):032x}",
            "iban": "DE89370400440532013000" if i % 2 else "GB82WEST12345698765432",
            "tracking": f"1Z{rng.randrange(10**16):016d}",
        })
    return json.dumps({"orders": rows}, indent=1).encode()


def html_page(numbers: list[str]) -> bytes:
    items = "".join(f"<li>Card on file: {grouped(n)}</li>" for n in numbers)
    return (f"<!doctype html><html><head><title>Account</title></head><body><h1>Your cards</h1>"
            f"<ul>{items}</ul><p>{PROSE}</p></body></html>").encode()


def minified_js(rng: random.Random) -> bytes:
    parts = [f"function a{i}(b,c){{return b*{rng.randrange(99)}+c.length||{rng.randrange(10**15)}}}"
             for i in range(400)]
    return (";".join(parts) + ";var t=" + str(rng.randrange(10**16)) + ";").encode()
