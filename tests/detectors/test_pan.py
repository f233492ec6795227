"""Payment card numbers: brands, lengths, separators, encodings, context, thresholds, scoping,
masking, and every negative the detector must leave alone."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import time

import pytest

from detectors.base import TOCLIENT
from detectors.pan import PanDetector, PanParams, brand_of, load_iin_table, luhn_ok
from dlp import install_key
from tests.detectors.helpers import part, run, tx
from tests.detectors.pan_corpus import luhn_complete

VISA = "4539148803436467"  # Luhn-valid, not a published test number
MC = "5500000000000004"  # a test number
MC2 = "5425233430109911"
AMEX = "371449635398431"  # test number
AMEX2 = "349283745651234"


def valid(prefix: str, length: int, fill: str = "7") -> str:
    body = (prefix + fill * length)[:length - 1]
    return luhn_complete(body)


def rand_pan(seed: int, prefix: str = "4", length: int = 16) -> str:
    """A Luhn-valid number that is no published test number."""
    rng = random.Random(seed)
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def rand_non_card(rng: random.Random) -> str:
    """A random 16-digit id that is not a valid card (no brand, or fails Luhn)."""
    while True:
        n = str(rng.randint(10**15, 10**16 - 1))
        if brand_of(n, load_iin_table()) is None or not luhn_ok(n):
            return n


def det(**kw) -> PanDetector:
    return PanDetector(PanParams(**kw))


def scan(text: str, d: PanDetector | None = None) -> dict:
    d = d or det()
    numbers, shapes = {}, {}
    d.scan_text(text, "body", numbers, shapes)
    return numbers


def found(text: str) -> set[str]:
    return set(scan(text))


def alert(d, *texts, **kw):
    out = run(d, *texts, **kw)
    assert len(out) <= 1  # one finding per transaction
    return out[0] if out else None


# --------------------------------------------------------------------- brands and lengths

BRAND_CASES = [
    ("visa", "4", (13, 16, 19)), ("mastercard", "51", (16,)), ("mastercard", "55", (16,)),
    ("mastercard", "2221", (16,)), ("mastercard", "2720", (16,)), ("amex", "34", (15,)), ("amex", "37", (15,)),
    ("discover", "6011", (16, 17, 18, 19)), ("discover", "644", (16, 19)), ("discover", "649", (16,)),
    ("discover", "65", (16, 19)), ("discover", "622126", (16, 19)), ("discover", "622925", (16,)),
    ("jcb", "3528", (16, 17, 18, 19)), ("jcb", "3589", (16,)), ("diners", "300", (14, 16, 19)),
    ("diners", "305", (14,)), ("diners", "36", (14, 15)), ("diners", "38", (14, 16)), ("diners", "39", (14, 19)),
    ("unionpay", "62", (16, 17, 18, 19)), ("unionpay", "6240", (16,)), ("unionpay", "622125", (16,)),
    ("maestro", "5018", (12, 13, 16, 19)), ("maestro", "5020", (12,)), ("maestro", "5038", (15,)),
    ("maestro", "5893", (16,)), ("maestro", "6304", (19,)), ("maestro", "6759", (12, 16)),
    ("maestro", "6761", (18,)), ("maestro", "6763", (13,)),
]


@pytest.mark.parametrize("brand,prefix,lengths", BRAND_CASES)
def test_brands_and_lengths(brand, prefix, lengths):
    for n in lengths:
        number = valid(prefix, n)
        numbers = scan(f'{{"card_number": "{number}"}}')
        assert list(numbers) == [number], (brand, n)
        assert numbers[number].brand == brand


@pytest.mark.parametrize("prefix,length", [
    ("4", 15), ("4", 14), ("51", 15), ("2721", 16), ("2220", 16), ("34", 16), ("37", 14),
    ("6011", 15), ("3527", 16), ("306", 14), ("1", 16), ("9", 16), ("7", 16), ("62", 15),
])
def test_wrong_brand_or_length_is_not_a_card(prefix, length):
    assert found(f"card: {valid(prefix, length)}") == set()


def test_luhn_failure_is_not_a_card():
    assert not luhn_ok(VISA[:-1] + "8")
    assert found(f"card: {VISA[:-1]}8") == set()


def test_longest_prefix_wins():
    table = load_iin_table()
    assert brand_of(valid("622126", 16), table) == "discover"
    assert brand_of(valid("622125", 16), table) == "unionpay"
    assert brand_of(valid("622926", 16), table) == "unionpay"


# ------------------------------------------------------------------------ separators, encodings

@pytest.mark.parametrize("shown", [
    "4539148803436467", "4539 1488 0343 6467", "4539-1488-0343-6467", "4539+1488+0343+6467",
    "4539%201488%200343%206467", "4539%2D1488%2D0343%2D6467", "4539%2d1488%2d0343%2d6467",
])
def test_separators_and_url_encoding(shown):
    assert found(f"card={shown}&exp=12%2F27") == {VISA}
    assert found(f'{{"pan": "{shown}"}}') == {VISA}


def test_amex_and_diners_groupings_and_19_digits():
    assert found("Amex: 3492 837456 51234") == {AMEX2}
    diners = valid("36", 14)
    assert found(f"card {diners[:4]} {diners[4:10]} {diners[10:]}") == {diners}
    nineteen = valid("6011", 19)
    grouped = " ".join(nineteen[i:i + 4] for i in range(0, 19, 4))
    assert found(f"card {grouped}") == {nineteen}


@pytest.mark.parametrize("shown", [
    "4539 1488-0343 6467",  # mixed separators
    "4539  1488  0343  6467",  # double spaces
    "45391 48803 43646 7",  # not a card grouping
    "4539--1488--0343--6467",
])
def test_inconsistent_groups_are_not_cards(shown):
    assert found(f"card {shown}") == set()


def test_inside_json_form_xml_and_url_encoded_json():
    assert found('{"payment":{"cardNumber":"4539148803436467","cvv":"123"}}') == {VISA}
    assert found("a=1&cc_number=4539148803436467&b=2") == {VISA}
    assert found("<cardNumber>4539148803436467</cardNumber>") == {VISA}
    assert found("payload=%7B%22card%22%3A%224539148803436467%22%7D") == {VISA}
    assert found('"note": "card:\\n4539148803436467\\n"') == {VISA}  # JSON-escaped newlines
    assert found("4539148803436467") == {VISA}  # the whole text


def test_card_followed_by_expiry_keeps_its_card():
    assert found("4539148803436467 12/27 123") == {VISA}
    assert found("4539 1488 0343 6467 12/27") == {VISA}


# --------------------------------------------------------------------------------- negatives

def test_not_inside_longer_digit_runs():
    assert found("ids: 1234-4539148803436467") == set()
    assert found("ids: 4539148803436467-9876") == set()
    assert found("45391488034364674539148803436467") == set()
    assert found("1234 5678 9012 3456 7890") == set()
    assert found("4539 1488 0343 6467 4539") == set()  # continues the grouping: a longer number


def test_not_glued_to_letters():
    for text in (f"x{VISA}", f"{VISA}x", f"sha={VISA}deadbeef", f"{VISA}_{VISA}", f"v{VISA}.1",
                 f"a{VISA}b", f"id:{VISA}{VISA[:4]}"):
        assert found(text) == set(), text


def test_floats_are_not_cards():
    for text in (f"{VISA}.5", f"0.{VISA}", f"1.{VISA}", f"{VISA}.25e3", f"[{VISA}.5, 1]", f"-{VISA}"):
        assert found(text) == set(), text


def test_phone_numbers():
    for text in ("+14155552671", "+4930123456789", "+49 301 234 567 890", "tel:+4930123456789",
                 "0049 30 12345678", "(415) 555-2671", "+44 20 7946 0958", "mobile=%2B4930123456789",
                 "+1-800-555-0199", f"+{VISA}"):
        assert found(text) == set(), text
    d = det()
    assert alert(d, '{"phone": "4539148803436467"}') is None


def test_epoch_timestamps():
    for text in ("1700000000000", '{"ts": 1712345678901}', "[1712345678901,1599999999999,1812345678901]",
                 "1700000000000000", "1700000000000000000"):
        assert found(text) == set(), text


def test_uuids():
    assert found("550e8400-e29b-41d4-a716-446655440000") == set()
    assert found("12345678-1234-4123-8123-123456789012") == set()
    assert found(f"4539-1488-0343-6467-123456789012") == set()
    assert found(f"e29b-{VISA}") == set()


def test_ibans():
    for text in ("DE89370400440532013000", "GB82WEST12345698765432", "IBAN: DE89 3704 0044 0532 0130 00",
                 "GB82 WEST 1234 5698 7654 32", "iban=DE89370400440532013000"):
        assert found(text) == set(), text
    # an IBAN whose trailing digit block looks like a valid card: the mod-97 check rejects it
    bban = "WEST" + VISA[:14]
    check = 98 - int("".join(str(int(c, 36)) for c in bban + "GB00")) % 97
    code = f"GB{check:02d} " + " ".join(bban[i:i + 4] for i in range(0, len(bban), 4))
    assert found(code) == set()


def test_prose_and_minified_js():
    prose = ("In 2019 the company sold 1,234,567.89 worth of goods; 12/05/2021 was a Monday. "
             "ISBN 978-3-16-148410-0. Call 555-0199. Version 10.4.1111111111 shipped.") * 50
    assert found(prose) == set()
    js = ("!function(){var a=9007199254740991,b=4503599627370496,c=0x7fffffff,d=1.7976931348623157e+308,"
          "e=3.141592653589793,f=18446744073709551615,g=Math.exp(1),h=4294967296;return a}();") * 20
    assert found(js) == set()


def test_order_ids_do_not_alert_even_when_luhn_valid():
    d = det()
    for key in ("order_id", "orderId", "invoice", "tracking_number", "id", "transaction_id"):
        assert alert(d, f'{{"{key}": "{VISA}", "note": "paid by card"}}', flow_id=hash(key) % 1000) is None
    numbers = scan(f'{{"order_id": "{VISA}"}}')
    assert numbers[VISA].confidence < 0.3
    assert alert(det(), f"Your order #{VISA} has shipped.") is None
    # a bare one-off id never reaches the context-free threshold of 3
    assert alert(det(), f'{{"value": "{VISA}"}}') is None


def test_bulk_random_ids_with_chance_hits_do_not_alert():
    # 3 Luhn-valid branded numbers hidden among 27 random ids: a list of ids, not cards
    rng = random.Random(3)
    ids = [rand_pan(i) for i in range(3)] + [rand_non_card(rng) for _ in range(27)]
    rng.shuffle(ids)
    text = json.dumps(ids)
    assert alert(det(), text) is None
    # the same three alone are a card dump
    assert alert(det(), json.dumps([rand_pan(i) for i in range(3)])) is not None


# ---------------------------------------------------------------------------- test numbers

def test_known_test_numbers_are_flagged_and_not_counted():
    d = det()
    assert alert(d, '{"card_number": "4111111111111111"}') is None
    assert alert(d, "cards: 4111111111111111 4242424242424242 5555555555554444 378282246310005") is None
    f = alert(det(count_test_numbers=True), '{"card_number": "4111111111111111"}')
    assert f is not None and f.extra["matches"][0]["test"] is True
    f = alert(det(), '{"card_number": "4539148803436467", "backup": "4242424242424242"}')
    tests = {m["masked"]: m["test"] for m in f.extra["matches"]}
    assert tests == {"453914******6467": False, "424242******4242": True}
    assert f.extra["counted"] == 1 and f.extra["distinct"] == 2


# --------------------------------------------------------------------------------- context

def test_context_raises_confidence():
    assert scan(f'{{"card_number": "{VISA}"}}')[VISA].confidence == 0.95
    assert scan(f"name,cc\nBob,{VISA}\n")[VISA].confidence == 0.95  # CSV column header
    assert scan(f"Please charge my credit card {VISA} thanks")[VISA].confidence == 0.95
    assert scan(f"see the attached, credit limit ok. {VISA} thanks")[VISA].confidence == 0.8
    assert scan(f"{VISA} exp 12/27")[VISA].confidence == 0.8
    assert scan(f"value {VISA}")[VISA].confidence == 0.5
    assert scan(f"value {VISA[:4]} {VISA[4:8]} {VISA[8:12]} {VISA[12:]}")[VISA].confidence == 0.6
    assert scan(f"Shipment ref for tracking: ok. {VISA}")[VISA].confidence == 0.25
    assert scan(f"tracking data, card used. {VISA}")[VISA].confidence == 0.55


def test_single_number_alerts_with_context_only():
    assert alert(det(), f'{{"card_number": "{VISA}"}}') is not None
    assert alert(det(), f"{VISA}") is None


# ------------------------------------------------------------------------------ thresholds

def test_message_threshold_without_context():
    three = [VISA, MC2, AMEX2]
    assert alert(det(), " ".join(three[:2])) is None
    f = alert(det(), "\n".join(three))
    assert f.extra["scopes"][0] == "message" and f.extra["distinct"] == 3 == f.extra["counted"]
    assert alert(det(min_distinct=2), " ".join(three[:2])) is not None


def test_duplicates_count_once():
    assert alert(det(), f"{VISA}\n{VISA}\n{VISA[:4]} {VISA[4:8]} {VISA[8:12]} {VISA[12:]}") is None


def test_flow_threshold_across_transactions():
    d = det()
    t0 = 1_700_000_000_000_000
    assert alert(d, VISA, flow_id=7, ts=t0) is None
    assert alert(d, MC2, flow_id=7, ts=t0 + 1) is None
    f = alert(d, AMEX2, flow_id=7, ts=t0 + 2)
    assert f.extra["scopes"] == ["flow"] and f.extra["flow_distinct"] == 3
    assert alert(d, valid("6011", 16), flow_id=7, ts=t0 + 3) is None  # once per window
    assert alert(det(flow_min_distinct=0), VISA, flow_id=8) is None


def test_host_threshold_over_a_time_window():
    numbers = [rand_pan(100 + i) for i in range(10)]
    assert len(set(numbers)) == 10
    d = det()
    t0 = 1_700_000_000_000_000
    for i, n in enumerate(numbers[:9]):
        assert alert(d, n, flow_id=100 + i, ts=t0 + i * 60_000_000) is None
    f = alert(d, numbers[9], flow_id=200, ts=t0 + 600_000_000)
    assert f.extra["scopes"] == ["host"] and f.extra["host_distinct"] == 10
    # another client is counted apart
    assert alert(d, VISA, flow_id=300, src_ip="10.9.9.9", ts=t0) is None
    # spread over more than the window: never ten at once
    d = det()
    for i, n in enumerate(numbers):
        assert alert(d, n, flow_id=400 + i, ts=t0 + i * 3_700_000_000) is None


def test_state_keeps_hashes_not_numbers():
    d = det()
    alert(d, VISA, flow_id=1)
    blob = repr([(k, dict(t.seen)) for k, t in list(d.flows.items.items()) + list(d.hosts.items.items())])
    assert VISA not in blob and VISA[-8:] not in blob


def test_state_is_bounded():
    d = det(max_flows=10, max_hosts=5)
    for i in range(100):
        alert(d, rand_pan(i), flow_id=i, src_ip=f"10.0.0.{i}")
    assert len(d.flows) <= 10 and len(d.hosts) <= 5


# -------------------------------------------------------------------------- hosts, scope

def test_allowlisted_processor_raises_nothing():
    d = det(allow_hosts=("stripe.com", "adyen.com"))
    text = f'{{"card_number": "{VISA}"}}'
    assert alert(d, text, host="api.stripe.com") is None
    assert alert(d, text, host="checkout-live.adyen.com:443") is None
    assert alert(d, text, host="notstripe.com") is not None


def test_denylisted_host_alerts_on_one_bare_number():
    d = det(deny_hosts=("pastebin.com",))
    f = alert(d, VISA, host="pastebin.com")
    assert f is not None and f.extra["host_listed"] == "deny"
    assert alert(d, VISA, host="example.org", flow_id=2) is None


def test_direction_scope():
    text = f'{{"card_number": "{VISA}"}}'
    assert alert(det(), text, direction=TOCLIENT) is None
    assert alert(det(direction="toclient"), text, direction=TOCLIENT) is not None
    d = det(direction="both")
    assert d.directions == frozenset((0, 1))
    assert alert(det(direction="toclient"), text) is None


def test_content_type_lists():
    text = f'{{"card_number": "{VISA}"}}'
    d = det()
    assert run(d, parts=[part(text, content_type="image/svg+xml")]) == []
    assert run(d, parts=[part(text, content_type="text/plain")], flow_id=2) != []
    d = det(content_types=("text/csv",))
    assert run(d, parts=[part(text, content_type="application/json")]) == []
    d = det(exclude_content_types=("application/json",))
    assert run(d, text, content_type="application/json") == []


def test_params_validation():
    with pytest.raises(ValueError, match="severity"):
        PanParams(severity=7)
    with pytest.raises(ValueError, match="min_confidence"):
        PanParams(min_confidence=2.0)
    with pytest.raises(ValueError, match="allow_hosts"):
        PanParams(allow_hosts=("https://stripe.com/",))
    with pytest.raises(ValueError, match="iin_file"):
        PanParams(iin_file="/nonexistent.csv")


def test_custom_iin_table_errors_name_the_line(tmp_path):
    path = tmp_path / "iin.csv"
    path.write_text("brand,start,end,lengths\nvisa,4,4,13;16\nbad,51,5,16\n")
    with pytest.raises(ValueError, match=r"iin.csv:3: bad IIN row"):
        PanParams(iin_file=str(path))


# ------------------------------------------------------------------------- masking, hash

def test_extra_masks_and_hashes_and_never_holds_the_number():
    d = det()
    numbers = [VISA, MC2, AMEX2, valid("6759", 12)]
    text = "card numbers: " + ", ".join(f"{n[:4]} {n[4:8]} {n[8:12]} {n[12:]}".strip() if len(n) == 16 else n
                                         for n in numbers)
    t = tx(parts=[part(text, path=("multipart:file", "zip:cards.txt"))])
    f = d.inspect(t)[0]
    key = install_key.load_or_create_key()
    assert key == open(os.environ["DLP_HMAC_KEY_FILE"], "rb").read()
    by_mask = {m["masked"]: m for m in f.extra["matches"]}
    assert set(by_mask) == {"453914******6467", "542523******9911", "349283*****1234",
                            numbers[3][:4] + "****" + numbers[3][-4:]}
    for n in numbers:
        m = next(m for m in f.extra["matches"] if m["masked"].endswith(n[-4:]) and m["masked"].startswith(n[:4]))
        assert m["hash"] == hmac.new(key, n.encode(), hashlib.sha256).hexdigest()
        assert m["type"] == "pan" and m["where"] == "multipart:file/zip:cards.txt"
        assert 0 <= m["confidence"] <= 1 and m["test"] is False
    blob = json.dumps(f.extra)
    without_hashes = blob
    for m in f.extra["matches"]:
        without_hashes = without_hashes.replace(m["hash"], "")
    for n in numbers:
        assert n not in blob
        hidden = n[6:-4] if len(n) >= 15 else n[4:-4]
        assert hidden not in without_hashes  # the masked middle never appears anywhere
    assert f.signature_id == 2100001 and f.severity == 1 and f.detector == "pan"


def test_hash_is_stable_per_install_and_differs_between_installs(tmp_path):
    a = det(hmac_key_file=str(tmp_path / "a.key"))
    b = det(hmac_key_file=str(tmp_path / "b.key"))
    text = f'{{"card_number": "{VISA}"}}'
    ha = alert(a, text).extra["matches"][0]["hash"]
    assert alert(det(hmac_key_file=str(tmp_path / "a.key")), text).extra["matches"][0]["hash"] == ha
    assert alert(b, text).extra["matches"][0]["hash"] != ha


def test_listing_is_capped():
    numbers = {rand_pan(200 + i) for i in range(30)}
    f = alert(det(max_listed=5), '{"cards": [' + ",".join(f'"{n}"' for n in numbers) + "]}")
    assert len(f.extra["matches"]) == 5 and f.extra["truncated"] and f.extra["distinct"] == len(numbers)


# -------------------------------------------------------------------- windows, performance

def test_cards_across_window_boundaries_are_found_once():
    d = det(window_chars=4096)
    filler = "lorem ipsum dolor sit amet " * 200
    for cut in range(4096 - 20, 4096 + 2):
        text = filler[:cut - 2] + " " + f"{VISA[:4]} {VISA[4:8]} {VISA[8:12]} {VISA[12:]}" + " " + filler
        assert set(scan(text, d)) == {VISA}, cut
    text = ("x " * 3000 + f"card {VISA} ") * 20
    assert set(scan(text, d)) == {VISA}


def test_large_text_without_digits_is_cheap():
    text = "lorem ipsum dolor sit amet, consectetur adipiscing elit " * 200_000  # 11 MB
    d = det()
    t0 = time.perf_counter()
    assert run(d, text) == []
    elapsed = time.perf_counter() - t0
    print(f"\npan: 11 MB without digits in {elapsed:.2f} s ({11 / elapsed:.0f} MB/s)")
    assert elapsed < 3


def test_huge_card_dump_stops_at_max_numbers():
    numbers = "\n".join(rand_pan(1000 + i) for i in range(300))
    f = alert(det(max_numbers=50), numbers)
    assert f.extra["scan_stopped"] and f.extra["distinct"] == 50
