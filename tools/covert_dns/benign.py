"""Benign DNS lookups, as varied as can be made offline: browsing, CDN and cloud hostnames,
reverse (PTR) lookups, SRV service discovery, SPF/DKIM/DMARC TXT, DNS blocklist lookups
(reversed-IP.zen.spamhaus.org), anti-virus reputation lookups with hash-like labels
(<md5>.avqs.mcafee.com, Spamhaus HBL <base32 sha256>._file.hbl.dq.spamhaus.net,
<md5>.malware.hash.cymru.com, Sophos-style hex lookups). Each family has an "a" and a "b"
variant on different domains, so training and held-out captures never share a domain.

`queries(family, variant, rng, words)` returns (name, type) pairs; tools/covert_dns/record.py
sends them with `dig -f` through the lab resolver (answers from tools/covert_dns/responder.py).
`words` are ordinary host labels (from the public-domain OpenDNS lists when available).
"""

from __future__ import annotations

import base64
import hashlib
import random

FALLBACK_WORDS = ("google", "facebook", "amazon", "wikipedia", "twitter", "linkedin", "github",
                  "microsoft", "apple", "yahoo", "reddit", "netflix", "spotify", "dropbox",
                  "zoom", "slack", "atlassian", "salesforce", "adobe", "mozilla", "debian",
                  "ubuntu", "python", "stackoverflow", "bbc", "cnn", "nytimes", "weather",
                  "booking", "paypal", "ebay", "office", "outlook", "skype", "bing", "duckduckgo")
SUBDOMAINS = ("www", "mail", "api", "cdn", "static", "img", "login", "m", "news", "shop",
              "accounts", "assets", "blog", "support", "docs", "images", "video", "auth")
TLDS = ("com", "net", "org", "de", "co.uk", "fr", "io", "nl")


def load_words(paths: list[str]) -> tuple[list[str], list[str]]:
    """(domains, first labels) from name lists; the fallback list when none can be read."""
    domains: list[str] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                domains += [line.strip().lower() for line in fh if line.strip()]
        except OSError:
            continue
    if not domains:
        domains = [f"{w}.com" for w in FALLBACK_WORDS]
    words = sorted({d.split(".")[0] for d in domains if d.split(".")[0].isalnum()})
    return sorted(set(domains)), words


def _ip(rng: random.Random) -> list[int]:
    return [rng.choice((10, 172, 192, 81, 62, 185, 203)), rng.randrange(256), rng.randrange(256),
            rng.randrange(1, 255)]


def _hex(rng: random.Random, n: int) -> str:
    return hashlib.md5(rng.randbytes(16)).hexdigest()[:n] if n <= 32 else \
        hashlib.sha256(rng.randbytes(16)).hexdigest()[:n]


def _b32(rng: random.Random, n: int) -> str:
    return base64.b32encode(hashlib.sha256(rng.randbytes(16)).digest()).decode().lower()[:n]


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def browse(rng, domains, words, n):
    out = []
    for d in rng.sample(domains, min(len(domains), n // 3)):
        out.append((d, "A"))
        out.append((f"www.{d}", rng.choice(("A", "AAAA"))))
        for sub in rng.sample(SUBDOMAINS, rng.randrange(0, 4)):
            out.append((f"{sub}.{d}", "A"))
    return out


def cdn(rng, variant, words, n):
    makers = {
        "a": (lambda: (f"e{rng.randrange(1000, 99999)}.a.akamaiedge.net", "A"),
              lambda: (f"e{rng.randrange(1000, 9999)}.dscb.akamaiedge.net", "A"),
              lambda: (f"d{_alnum(rng, 13)}.cloudfront.net", "A"),
              lambda: (f"{rng.choice(words)}-{rng.choice(words)}.s3.us-east-1.amazonaws.com", "A"),
              lambda: (f"{rng.choice(words)}.global.ssl.fastly.net", "A"),
              lambda: (f"{_hex(rng, 16)}.fp.measure.office.net", "A"),
              lambda: (f"{_alnum(rng, 20)}.{rng.choice(words)}.cloudapp.azure.com", "A")),
        "b": (lambda: (f"rr{rng.randrange(1, 6)}---sn-{_alnum(rng, 8)}.googlevideo.com", "A"),
              lambda: (f"{rng.choice(words)}{rng.randrange(100)}.blob.core.windows.net", "A"),
              lambda: (f"{_alnum(rng, 10)}.execute-api.eu-west-1.amazonaws.com", "A"),
              lambda: (f"{rng.choice(words)}-prod.azureedge.net", "AAAA"),
              lambda: (f"{_hex(rng, 8)}.safeframe.googlesyndication.com", "A")),
    }[variant]
    return [rng.choice(makers)() for _ in range(n)]


def ptr(rng, variant, words, n):
    out = []
    for _ in range(n):
        if variant == "a":
            out.append((".".join(map(str, reversed(_ip(rng)))) + ".in-addr.arpa", "PTR"))
        else:
            nibbles = "20010db8" + _hex(rng, 24)
            out.append((".".join(reversed(nibbles)) + ".ip6.arpa", "PTR"))
    return out


AD_SRV = ("_ldap._tcp.dc._msdcs", "_kerberos._udp", "_kerberos._tcp.dc._msdcs", "_gc._tcp",
          "_ldap._tcp.default-first-site-name._sites", "_kpasswd._udp", "_ldap._tcp.pdc._msdcs")
DNS_SD = ("b._dns-sd._udp", "db._dns-sd._udp", "lb._dns-sd._udp", "r._dns-sd._udp", "_ipp._tcp",
          "_printer._tcp", "_http._tcp", "_airplay._tcp")


def services(rng, variant, words, n):
    """Active Directory SRV discovery (domain controllers, Kerberos), DNS-SD browsing, then
    mail authentication TXT, MX and SIP/XMPP/autodiscover SRV for many domains."""
    corps = {"a": ("corp-a.example", "branch-a.example", "lab-a.example"), "b": ("ad.corp-b.example",)}[variant]
    names = [(f"{srv}.{corp}", "SRV") for corp in corps for srv in AD_SRV[: rng.randrange(5, 8)]]
    if variant == "a":
        names += [(f"{sd}.{corp}", "PTR") for corp in corps for sd in DNS_SD[: rng.randrange(5, 9)]]
    selectors = {"a": ("google", "selector1", "selector2"), "b": ("s1", "k1", "20230601", "mxvault")}[variant]
    for w in rng.sample(words, min(len(words), n // 4)):
        d = f"{w}.{rng.choice(TLDS)}"
        names += [(d, "TXT"), (f"_dmarc.{d}", "TXT"), (f"{rng.choice(selectors)}._domainkey.{d}", "TXT"),
                  (d, "MX"), (f"_sip._tls.{d}", "SRV"), (f"_autodiscover._tcp.{d}", "SRV"),
                  (f"_xmpp-client._tcp.{d}", "SRV")]
    return names[: max(n, len(names))]


def dnsbl(rng, variant, words, n):
    lists = {"a": ("zen.spamhaus.org",), "b": ("bl.spamcop.net", "b.barracudacentral.org", "dnsbl.sorbs.net")}[variant]
    out = []
    for _ in range(n // len(lists)):
        rev = ".".join(map(str, reversed(_ip(rng))))
        out += [(f"{rev}.{zone}", "A") for zone in lists]
    return out


def antivirus(rng, variant, words, n):
    if variant == "a":  # McAfee GTI-style md5 lookups, Spamhaus HBL-style base32 file hashes
        return [(f"{_hex(rng, 32)}.avqs.mcafee.com", "A") if i % 2 else
                (f"{_b32(rng, 52)}._file.hbl.dq.spamhaus.net", "TXT") for i in range(n)]
    return [(f"{_hex(rng, 32)}.malware.hash.cymru.com", "TXT") if i % 2 else
            (f"{_hex(rng, 40)}.{_hex(rng, 8)}.sxl.sophosxl.net", "TXT") for i in range(n)]


FAMILIES = {"browse": browse, "cdn": cdn, "ptr": ptr, "services": services, "dnsbl": dnsbl,
            "antivirus": antivirus}


def queries(family: str, variant: str, rng: random.Random, domains: list[str], words: list[str],
            n: int = 120) -> list[tuple[str, str]]:
    if family == "browse":  # the caller gives each variant its own domain list
        return browse(rng, domains, words, n)
    return FAMILIES[family](rng, variant, words, n)
