"""A decoded form field or JSON value carries its name as context for the card detector."""

from __future__ import annotations

from detectors.base import BodyPart, FlowInfo, HttpTransaction
from detectors.pan import PanDetector, PanParams

FLOW = FlowInfo(1, "TCP", "192.0.2.1", 5000, "198.51.100.2", 80)


def tx(part: BodyPart) -> HttpTransaction:
    return HttpTransaction(FLOW, 0, "POST", "/pay", "shop.example", None, (), (), "application/json",
                           (part,), 0, body_length=len(part.data))


def test_field_name_gives_a_lone_number_its_context():
    det = PanDetector(PanParams())
    value = "4301 7568 2052 5892"
    named = BodyPart(value.encode(), value, ("json:$.card_number",), name="$.card_number")
    assert len(det.inspect(tx(named))) == 1
    det = PanDetector(PanParams())
    bare = BodyPart(value.encode(), value, ("json:$.order_id",), name="$.order_id")
    assert det.inspect(tx(bare)) == []
