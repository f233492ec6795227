"""A generated corpus for the card-number detector: valid numbers of every brand embedded in
realistic JSON, form, CSV, XML and prose text (with and without card context), and documents
of the negatives the detector must not alert on. Deterministic for a given seed."""

from __future__ import annotations

import json
import random
import string
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from detectors.pan import brand_of, load_iin_table, load_test_numbers, luhn_ok

FIRST = ["John", "Maria", "Wei", "Aisha", "Lars", "Priya", "Carlos", "Yuki", "Fatima", "Tom"]
LAST = ["Smith", "Garcia", "Chen", "Khan", "Berg", "Patel", "Silva", "Tanaka", "Haddad", "Ng"]
WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her all she there would their we him been has when who "
         "will more no if out so said what up its about into than them can only other new some "
         "could time these two may then do first any my now such like our over man me even most "
         "made after also did many before must through back years where much your way well down "
         "should because each just those people how too little state good very make world still "
         "own see men work long get here between both life being under never day same another "
         "know while last might us great old year off come since against go came right used take").split()


def luhn_complete(body: str) -> str:
    for d in "0123456789":
        if luhn_ok(body + d):
            return body + d
    raise AssertionError


def make_pan(rng: random.Random, brand: str | None = None) -> tuple[str, str]:
    """A Luhn-valid number of `brand` (any when None) that is not a published test number."""
    table = load_iin_table()
    rows = [r for _, ranges in table for r in ranges if brand is None or r.brand == brand]
    tests = load_test_numbers()
    while True:
        r = rng.choice(rows)
        length = rng.choice(sorted(r.lengths))
        prefix = str(rng.randint(r.start, r.end))
        body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
        pan = luhn_complete(body)
        got = brand_of(pan, table)
        if got and pan not in tests and len(set(pan)) > 2:
            return pan, got


def fmt(rng: random.Random, pan: str, style: str) -> str:
    n = len(pan)
    if style == "plain":
        return pan
    if n == 15:
        groups = [pan[:4], pan[4:10], pan[10:]]
    elif n == 14 and rng.random() < 0.5:
        groups = [pan[:4], pan[4:10], pan[10:]]
    else:
        groups = [pan[i:i + 4] for i in range(0, n, 4)]
    sep = {"space": " ", "dash": "-", "plus": "+", "pct20": "%20", "pct2d": rng.choice(["%2D", "%2d"])}[style]
    return sep.join(groups)


def luhn_valid_branded_id(rng: random.Random, length: int = 16) -> str:
    """A 'random' numeric id that happens to pass the brand and Luhn checks."""
    while True:
        pan = make_pan(rng, rng.choice(["visa", "mastercard", "discover", "maestro", "jcb"]))[0]
        if len(pan) == length:
            return pan


def random_id(rng: random.Random, length: int = 16) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice(string.digits) for _ in range(length - 1))


def prose(rng: random.Random, words: int) -> str:
    out = []
    for i in range(words):
        w = rng.choice(WORDS)
        r = rng.random()
        if r < 0.03:
            w = str(rng.randint(1900, 2030))
        elif r < 0.05:
            w = f"{rng.randint(1, 99999):,}.{rng.randint(0, 99):02d}"
        elif r < 0.06:
            w = f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1990, 2030)}"
        out.append(w)
        if rng.random() < 0.08:
            out[-1] += "."
    return " ".join(out).capitalize()


@dataclass
class Doc:
    text: str
    pans: list[str] = field(default_factory=list)  # the valid numbers embedded (positives)
    kind: str = ""
    content_type: str = "application/json"


# ------------------------------------------------------------------------------ positives

def _ctx_json(rng, pans, styles):
    p = pans[0]
    key = rng.choice(["card_number", "cardNumber", "cc_number", "pan", "creditCard", "ccnum", "card"])
    body = {"customer": {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "email": "x@example.org"},
            "payment": {key: fmt(rng, p, styles[0]), "exp_month": rng.randint(1, 12),
                        "exp_year": rng.randint(2025, 2031), "cvv": f"{rng.randint(0, 999):03d}"},
            "amount": round(rng.uniform(1, 900), 2), "ts": 1700000000000 + rng.randint(0, 10**10)}
    return json.dumps(body, indent=rng.choice([None, 2]))


def _ctx_form(rng, pans, styles):
    p = pans[0]
    style = rng.choice(["plain", "plus", "pct20", "pct2d"])
    key = rng.choice(["cc_number", "card_number", "cardnumber", "card%5Fnumber", "ccnum"])
    return (f"first_name={rng.choice(FIRST)}&last_name={rng.choice(LAST)}&{key}={fmt(rng, p, style)}"
            f"&exp_month={rng.randint(1, 12):02d}&exp_year={rng.randint(2025, 2031)}&cvv={rng.randint(100, 999)}"
            f"&order_id={random_id(rng, 10)}")


def _ctx_prose(rng, pans, styles):
    lines = [prose(rng, rng.randint(10, 40))]
    for p, st in zip(pans, styles):
        lead = rng.choice(["Please charge my credit card", "My Visa card number is", "Card:", "Card no.",
                           "Kreditkarte:", "use the card", "CC#"])
        lines.append(f"{lead} {fmt(rng, p, st)}, expires {rng.randint(1, 12):02d}/{rng.randint(25, 31)}. "
                     + prose(rng, rng.randint(5, 20)))
    return "\n".join(lines)


def _ctx_xml(rng, pans, styles):
    items = "".join(f"<payment><cardNumber>{fmt(rng, p, st)}</cardNumber><cvv>{rng.randint(100, 999)}</cvv></payment>"
                    for p, st in zip(pans, styles))
    return f'<?xml version="1.0"?><order id="{random_id(rng, 9)}">{items}</order>'


def _ctx_csv(rng, pans, styles):
    header = rng.choice(["name,card_number,exp,cvv", "customer;cc;expiry", "Name\tCard Number\tExpiry"])
    delim = "," if "," in header else (";" if ";" in header else "\t")
    rows = [header]
    for p, st in zip(pans, styles):
        cells = [f"{rng.choice(FIRST)} {rng.choice(LAST)}", fmt(rng, p, st), f"{rng.randint(1, 12):02d}/{rng.randint(25, 31)}"]
        if header.count(delim) == 3:
            cells.append(str(rng.randint(100, 999)))
        rows.append(delim.join(cells))
    return "\n".join(rows) + "\n"


def _ctx_urljson(rng, pans, styles):
    p = pans[0]
    inner = json.dumps({"card": {"number": p, "exp": "12/29"}, "user": rng.choice(FIRST)})
    return "payload=" + rng.choice([quote, quote_plus])(inner, safe="")


def _noctx_csv(rng, pans, styles):
    rows = ["id,name,value,city"]
    for i, (p, st) in enumerate(zip(pans, styles)):
        rows.append(f"{i + 1},{rng.choice(FIRST)} {rng.choice(LAST)},{fmt(rng, p, st)},{rng.choice(['Oslo', 'Lima', 'Pune', 'Kobe'])}")
    return "\n".join(rows) + "\n"


def _noctx_json(rng, pans, styles):
    return json.dumps({"rows": [{"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "value": fmt(rng, p, st)}
                                for p, st in zip(pans, styles)]})


def _noctx_lines(rng, pans, styles):
    return "\n".join(f"{rng.choice(FIRST)} {rng.choice(LAST)} {fmt(rng, p, st)} {rng.choice(['Oslo', 'Lima', 'Pune'])}"
                     for p, st in zip(pans, styles))


WITH_CONTEXT = [(_ctx_json, 1, "application/json"), (_ctx_form, 1, "application/x-www-form-urlencoded"),
                (_ctx_prose, 3, "text/plain"), (_ctx_xml, 3, "application/xml"), (_ctx_csv, 6, "text/csv"),
                (_ctx_urljson, 1, "application/x-www-form-urlencoded")]
WITHOUT_CONTEXT = [(_noctx_csv, 6, "text/csv"), (_noctx_json, 5, "application/json"), (_noctx_lines, 4, "text/plain")]
STYLES = ["plain", "plain", "plain", "space", "dash", "space"]


def positives(seed: int = 1, numbers: int = 500) -> list[Doc]:
    rng = random.Random(seed)
    brands = ["visa", "mastercard", "amex", "discover", "jcb", "diners", "unionpay", "maestro"]
    docs, total, i = [], 0, 0
    while total < numbers:
        with_ctx = i % 5 != 4  # one document in five is a bare dump without context words
        gen, most, ctype = rng.choice(WITH_CONTEXT if with_ctx else WITHOUT_CONTEXT)
        count = min(rng.randint(1, most) if with_ctx else rng.randint(3, most), numbers - total)
        if count < 1 or (not with_ctx and count < 3):
            count = max(count, 1)
            gen, most, ctype = WITH_CONTEXT[0]
            count = 1
        pans = []
        while len(pans) < count:
            p = make_pan(rng, brands[(total + len(pans)) % len(brands)])[0]
            if p not in pans:
                pans.append(p)
        styles = [rng.choice(STYLES) for _ in pans]
        docs.append(Doc(gen(rng, pans, styles), pans, gen.__name__, ctype))
        total += count
        i += 1
    return docs


# ------------------------------------------------------------------------------ negatives

def iban(rng: random.Random, country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in rearranged)) % 97
    return f"{country}{check:02d}{bban}"


def _neg_order_json(rng):
    oid = luhn_valid_branded_id(rng) if rng.random() < 0.5 else random_id(rng)
    key = rng.choice(["order_id", "orderId", "order", "invoice_number", "tracking_number", "transaction_id", "id", "ref"])
    return json.dumps({key: oid if rng.random() < 0.5 else int(oid), "status": "shipped",
                       "total": round(rng.uniform(1, 500), 2), "note": "paid by card"})


def _neg_order_csv(rng):
    rows = ["order_id,amount,created"]
    for _ in range(rng.randint(5, 40)):
        rows.append(f"{random_id(rng)},{rng.uniform(1, 900):.2f},2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}")
    return "\n".join(rows) + "\n"


def _neg_order_ids_bare(rng):
    """A bulk list of random 16-digit ids with no words at all (about 1 in 40 passes brand+Luhn)."""
    return json.dumps([random_id(rng) for _ in range(rng.randint(10, 60))])


def _neg_order_text(rng):
    oid = luhn_valid_branded_id(rng)
    return rng.choice([f"Your order #{oid} has shipped.", f"Invoice {oid} is attached.",
                       f"Tracking number: {oid}", f"Ref: {oid}, thank you for paying by card."])


def _neg_phone(rng):
    cc = rng.choice(["1", "44", "49", "33", "81", "91", "61", "86"])
    national = "".join(rng.choice(string.digits) for _ in range(rng.randint(9, 12)))
    forms = [f"+{cc}{national}", f"+{cc} {national[:3]} {national[3:6]} {national[6:]}",
             f"00{cc} {national[:2]} {national[2:]}", f"({national[:3]}) {national[3:6]}-{national[6:10]}",
             f"+{cc}-{national[:3]}-{national[3:7]}-{national[7:]}", f"tel:+{cc}{national}",
             f"{cc} {national[:4]} {national[4:8]} {national[8:]}"]
    v = rng.choice(forms)
    return rng.choice([json.dumps({"phone": v, "name": rng.choice(FIRST)}), f"Call me at {v} tomorrow.",
                       f"mobile={quote_plus(v)}&name={rng.choice(FIRST)}", f"Tel. {v}"])


def _neg_timestamp(rng):
    ts = [str(rng.randint(1_500_000_000_000, 1_999_999_999_999)) for _ in range(rng.randint(1, 8))]
    return rng.choice([json.dumps({"ts": int(ts[0]), "event": "click"}), "[" + ",".join(ts) + "]",
                       "\n".join(f"{t} INFO request served" for t in ts),
                       json.dumps({"events": [{"t": int(t), "v": rng.random()} for t in ts]})])


def _neg_float(rng):
    vals = [f"{make_pan(rng, 'visa')[0]}.{rng.randint(1, 99)}" for _ in range(3)] + \
           [f"0.{make_pan(rng, 'mastercard')[0]}", f"{rng.randint(1, 9)}.{make_pan(rng, 'amex')[0]}e-5"]
    return rng.choice([json.dumps({"values": [float(v) if "e" not in v else v for v in vals]}).replace('"', ""),
                       " ".join(vals), ",".join(vals)])


def _neg_uuid(rng):
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(5)]
    numeric = "-".join(["".join(rng.choice(string.digits) for _ in range(n)) for n in (8, 4, 4, 4, 12)])
    ids.append(numeric)
    return json.dumps({"ids": ids, "request_id": ids[0]})


def _neg_iban(rng):
    fixed = ["DE89370400440532013000", "GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00",
             "GB82 WEST 1234 5698 7654 32"]
    made = []
    for _ in range(3):
        country = rng.choice(["DE", "FR", "NL", "ES", "IT", "BE"])
        bban = "".join(rng.choice(string.digits) for _ in range(rng.choice([18, 20, 22])))
        code = iban(rng, country, bban)
        made.append(code if rng.random() < 0.5 else " ".join(code[i:i + 4] for i in range(0, len(code), 4)))
    v = rng.choice(fixed + made)
    return rng.choice([f"IBAN: {v}", json.dumps({"iban": v, "bic": "DEUTDEFF"}), f"Please transfer to {v} today.",
                       f"account={quote_plus(v)}&amount=12.00", v])


def _neg_prose(rng):
    return prose(rng, rng.randint(50, 400)) + f" ISBN 978-3-16-{rng.randint(100000, 999999)}-0."


def _neg_minified_js(rng):
    parts = []
    for _ in range(rng.randint(20, 80)):
        name = rng.choice(string.ascii_letters) + rng.choice(string.ascii_lowercase + "0123456789")
        val = rng.choice([str(rng.randint(0, 10**6)), f"0x{rng.getrandbits(32):x}", "9007199254740991",
                          "4503599627370496", "2147483647", "4294967296", "1.7976931348623157e+308",
                          f"{rng.random()!r}", "3.141592653589793", "18446744073709551615",
                          f'"{uuid.UUID(int=rng.getrandbits(128))}"', f"Math.exp({rng.randint(1, 9)})",
                          f"{rng.randint(1, 9)}e{rng.randint(10, 20)}", str(rng.randint(10**15, 10**16 - 1))])
        parts.append(f"{name}={val}")
    return "!function(){var " + ",".join(parts) + ";return " + rng.choice(string.ascii_lowercase) + "}();"


def _neg_glued(rng):
    p = make_pan(rng)[0]
    return rng.choice([f"1234-{p}", f"{p}-9876", f"x{p}", f"{p}abc", f"{p}{p}",
                       f"sha={p}deadbeef", f"{p}_{p}", f"v{p}.1", f"id:{p}{p[:4]}"])


NEGATIVES = [(_neg_order_json, "application/json"), (_neg_order_csv, "text/csv"),
             (_neg_order_ids_bare, "application/json"), (_neg_order_text, "text/plain"),
             (_neg_phone, "text/plain"), (_neg_timestamp, "application/json"), (_neg_float, "text/plain"),
             (_neg_uuid, "application/json"), (_neg_iban, "text/plain"), (_neg_prose, "text/plain"),
             (_neg_minified_js, "application/javascript"), (_neg_glued, "text/plain")]


def negatives(seed: int = 2, count: int = 500) -> list[Doc]:
    rng = random.Random(seed)
    return [Doc(gen(rng), [], gen.__name__, ctype) for i in range(count)
            for gen, ctype in [NEGATIVES[i % len(NEGATIVES)]]]
