"""Registered domains from the offline Public Suffix List: the publicsuffix.org test rules
(wildcards, exceptions, the default "*" rule, IDN in punycode) on a small list, and the
shipped list on names the detector meets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.covert.psl import PublicSuffixList, default_list

SMALL = PublicSuffixList.parse("""// comment
com
uk
co.uk
*.ck
!www.ck
jp
*.kobe.jp
!city.kobe.jp
\u043e\u043d\u043b\u0430\u0439\u043d
github.io   trailing words are ignored
""".encode())


@pytest.mark.parametrize("name,expected", [
    (b"example.com", b"example.com"),
    (b"a.b.example.com", b"example.com"),
    (b"www.bbc.co.uk", b"bbc.co.uk"),
    (b"bbc.co.uk", b"bbc.co.uk"),
    (b"foo.bar.ck", b"foo.bar.ck"),  # *.ck: bar.ck is a suffix
    (b"www.ck", b"www.ck"),  # !www.ck: an exception is registrable
    (b"a.www.ck", b"www.ck"),
    (b"x.y.city.kobe.jp", b"city.kobe.jp"),
    (b"x.y.other.kobe.jp", b"y.other.kobe.jp"),
    (b"host.unlisted-tld", b"host.unlisted-tld"),  # default rule "*"
    (b"a.b.host.unlisted-tld", b"host.unlisted-tld"),
    (b"shop.xn--80asehdb", b"shop.xn--80asehdb"),  # IDN rule matched in punycode
    (b"a.me.github.io", b"me.github.io"),
    (b"WWW.Example.COM.", b"example.com"),
    (b"com", b"com"),
    (b"", b""),
])
def test_small_list_rules(name, expected):
    assert SMALL.registered_domain(name) == expected


@pytest.mark.parametrize("name,expected", [
    (b"paaamiii.hidemyself.org", b"hidemyself.org"),
    (b"x.cyberops.com.dccore200.local", b"dccore200.local"),
    (b"1.2.3.4.zen.spamhaus.org", b"spamhaus.org"),
    (b"x.abc.s3.amazonaws.com", b"abc.s3.amazonaws.com"),
    (b"abc.s3.us-east-1.amazonaws.com", b"s3.us-east-1.amazonaws.com"),  # us-east-1.amazonaws.com listed
    (b"d111111abcdef8.cloudfront.net", b"d111111abcdef8.cloudfront.net"),
    (b"4.3.2.10.in-addr.arpa", b"10.in-addr.arpa"),
    (b"www.bbc.co.uk", b"bbc.co.uk"),
])
def test_shipped_list(name, expected):
    assert default_list().registered_domain(name) == expected


def test_shipped_list_keeps_its_licence_header():
    with open("detectors/data/public_suffix_list.dat", encoding="utf-8") as fh:
        head = fh.read(300)
    assert "Mozilla Public" in head and "mozilla.org/MPL/2.0" in head


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=70), min_size=0, max_size=8))
def test_any_labels_give_a_suffix_of_the_name(labels):
    name = b".".join(labels)
    got = default_list().registered_domain(name)
    assert name.rstrip(b".").lower().endswith(got)
