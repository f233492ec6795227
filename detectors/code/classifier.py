"""Is this text program source, and in which language? A transparent, rule-based scorer.

1. Whole-text rejects, cheap first: binary-looking text, JSON that parses, HTML pages,
   XML documents, minified or bundled JavaScript (most bytes on very long lines, bundler
   markers), base64 blobs.
2. Every line (of the first MAX_LINES; PROBE_LINES when they hold almost no code) gets a
   kind: `code`; `weak` (some language evidence, no clear syntax); `comment` (line and block
   comments, docstrings — also when the text starts inside one); `neutral` (a lone brace,
   `key = value`, a string literal); or a non-code kind: `prose`, `log` (syslog, access
   logs, timestamps), `trace` (stack traces: see below), `data` (CSV rows, JSON pairs,
   base64), `markup` (HTML/XML tags), `config` (YAML `key: value`, INI sections). A line is
   `code` when a language pattern scores it at least STRONG_LINE (languages.py), or when it
   shows generic code syntax (`;`/`{`/`}` endings, `==`, `->`, `f(x)` calls, assignments
   with code on the right) and does not read like an English sentence.
3. The best contiguous code region is found (maximum-sum segment: code +1, weak +0.5,
   comment/neutral +0.1, non-code -2), so a snippet inside prose or a log is found and a
   document that quotes a few lines of code is not flagged. A text that is (nearly) all
   region needs 80% of `min_lines` in it; a region embedded in a longer text needs the full
   `min_lines` and code on 60% of them.
4. Inside the region: `codeness` = code lines / (code + non-code lines) (weak lines count
   half); per-language scores = sum of line scores (+ shebang, + file extension as a hint:
   it multiplies an existing score and adds a little, it never creates a language from
   nothing).
5. `confidence` combines codeness, how much language evidence each code line carries, and
   how clearly the winning language beats the runner-up.

Stack traces (Java `at a.b.C.m(C.java:12)`, Python `Traceback`/`File "x", line N` and the
source lines it quotes, Go goroutine dumps, Node/C#/Rust frames) are logs, not source: a bug
report that pastes one is not a source-code leak. Real code pasted next to a trace is still
found, as its own region.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from detectors.code.languages import (LANGUAGES, STRONG_LINE, language_from_filename,
                                      language_from_shebang, score_line)

MAX_LINES = 1500  # lines analysed per text; longer texts are judged on their beginning
PROBE_LINES = 400  # a text with hardly any code line in its first lines is not read further
LONG_LINE = 500  # a line this long is not hand-written code
NONCODE = ("prose", "log", "trace", "data", "markup", "config")

STOPWORDS = frozenset("""a an the and or but if of to in on at by for with from as is are was were be
been being it its this that these those there their they them we you your our he she his her i
me my not no can will would should could may might must do does did have has had which who
what when where how than then so such also only into about over more most some any each all
other very just please thanks thank regards dear hi hello""".split())

# --- whole-text rejects ------------------------------------------------------------------

_HTML_PAGE = re.compile(r"^\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.I | re.M)
_XML_DOC = re.compile(r"^\s*(?:\ufeff)?<\?xml\s")
_PHP_OPEN = re.compile(r"<\?php\b|<\?=")
_BUNDLE = re.compile(r"/\*{6}/|__webpack_require__|webpackJsonp|//# sourceMappingURL=|"
                     r"^!function\(\w,\w\)\{|\(function\(modules\)\s*\{|System\.register\(|"
                     r"__d\(function\(g,r,i,a,m,e,d\)", re.M)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
_B64_LINE = re.compile(r"^[A-Za-z0-9+/]{40,}={0,2}$|^[0-9a-fA-F]{48,}$|^[A-Za-z0-9_-]{60,}$")

# --- line kinds ----------------------------------------------------------------------------

_C_PREPROC = re.compile(r"^#(?:include|define|if|ifdef|ifndef|endif|else|elif|pragma|undef|error|warning|line)\b"
                        r"|^#\s+(?:include\s*[<\"]|define\s+\w|if(?:n?def)?\s+\w|endif\b|else\b|elif\s|pragma\s|undef\s)")
_RUST_ATTR = re.compile(r"^#!?\[")
_LINE_COMMENT = re.compile(r"^(?://|#|--(?:\s|$)|;|%|\*(?:\s|$|/)|/\*|REM\s|'\s)")
_TRACE = re.compile(
    r"^(?:at\s+[\w$.<>/\[\]`'-]+(?:\.[\w$<>\[\]`'-]+)*\s*\(.*\)(?:\s+in\s+.*:line\s+\d+)?$"
    r"|at\s+(?:async\s+)?[\w$.<>\[\] -]*\(?(?:file://)?[\w./\\:@-]+:\d+(?::\d+)?\)?$"
    r"|\.\.\.\s*\d+\s+(?:more|common frames omitted)"
    r"|Traceback\s+\(most recent call last\):"
    r"|File\s+\"[^\"]+\",\s+line\s+\d+"
    r"|(?:Exception\s+in\s+thread|Caused\s+by:|Suppressed:)"
    r"|(?:[\w$]+\.)+[\w$]*(?:Exception|Error|Throwable)(?::\s.*)?$"
    r"|[A-Z]\w*(?:Error|Exception|Warning|Interrupt|Exit)(?::\s.*)?$"
    r"|goroutine\s+\d+\s+\[[^\]]*\]:$"
    r"|panic:\s|fatal error:\s"
    r"|[\w./-]+\.(?:go|rs|py|js|ts|java|cs|c|cc|cpp):\d+(?::\d+)?(?:\s+\+0x[0-9a-f]+)?$"
    r"|thread\s+'[^']*'\s+panicked\s+at"
    r"|\d+:\s+(?:0x[0-9a-f]+\s+-\s+)?[\w:<>{}$ .]+$"
    r"|note:\s+run\s+with\s+`RUST_BACKTRACE"
    r"|\^+\s*$|[~^]{3,}\s*$)")
_GO_FRAME = re.compile(r"^(?:[\w./-]+\.)+[\w.*()\[\]]+\((?:0x[0-9a-f]+(?:,\s*)?|\.\.\.)*\)$|^created\s+by\s")
_LOG = re.compile(
    r"^(?:\[?\d{4}[-/]\d\d[-/]\d\d[T ]\d\d:\d\d(?::\d\d)?"
    r"|\[?\d\d[-/]\w{2,3}[-/]\d{2,4}[ :T]\d\d:\d\d"
    r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+\d\d:\d\d:\d\d"
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+(?:\d{1,2}\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"
    r"|\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s"
    r"|\d{1,3}(?:\.\d{1,3}){3}\s+\S+\s+\S+\s+\["
    r"|[0-9a-f:]+:[0-9a-f:]*\s+-\s+\S+\s+\["
    r"|\d\d:\d\d:\d\d[.,]\d+\s"
    r"|\d{10}(?:\.\d+)?\s"
    r"|\[?\s*\d+\.\d{6}\]\s"
    r"|(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE)[:\s\]]"
    r"|\[(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE|debug|info|warn|error|notice|crit)\]"
    r"|[IWEF]\d{4}\s+\d\d:\d\d:\d\d"
    r"|type=\w+\s+msg=audit\(|<\d{1,3}>\d?\s?\w)")
_MARKUP = re.compile(r"^</?[A-Za-z][\w:.-]*(?:\s+[\w:.-]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*\s*/?>"
                     r"|^<!--|^-->|^<!\[CDATA\[|^\]\]>|^</[A-Za-z][\w:.-]*>$|^<\w[^>]*$")
_CONFIG_KV = re.compile(r"^-?\s*[\w.\"'-]+\s*:(?:\s+[^{}();=]*[^{}();=,]|\s*)$")
_CODE_PUNCT = re.compile(r"[=(){}\[\];<>$]")
_YAML_ITEM = re.compile(r"^-\s+(?:[\w.\"'/-]+\s*:.*|[^(){};=]*)$")
_INI_SECTION = re.compile(r"^\[\[?[\w .:/\"'-]+\]\]?$")
_KV_PLAIN = re.compile(r"^[\w.\"'-]+\s*[=:]\s*(?:\"[^\"]*\"|'[^']*'|[\w.,:/@%+ -]*|\[[^\]()]*\]|true|false)\s*(?:[#;].*)?$")
_JSON_PAIR = re.compile(r"^\"[^\"]*\"\s*:\s*.*?,?$")
_CSV_CODE = re.compile(r"[(){};=]")
_BRACKETS_ONLY = re.compile(r"^[\[\](){}<>;,\s]*$")
_MD = re.compile(r"^(?:#{1,6}\s|[-*+]\s+\S|\d+\.\s+\S|>\s|\|.*\|\s*$|```|~~~|={3,}\s*$|-{3,}\s*$|\[[^\]]+\]:\s)")

_GEN_END = re.compile(r"(?:;|\{|\}|\};|\);|\}\);|\}\)|\),|\]\)|\]\);|=>)\s*$")
_GEN_OP = re.compile(r"==|!=|<=|>=|&&|\|\||\+=|-=|\*=|/=|->|=>|::|\+\+|<<|>>|\?\?|:=")
_GEN_CALL = re.compile(r"[\w$\]>)]\((?:[^()]|\([^()]*\))*\)")
_GEN_ASSIGN = re.compile(r"^[\w$.\[\]'\"*]+\s*[+\-*/%|&^]?=\s*\S.*(?:\w\(|[\[{]).*$|^[\w$.\[\]]+\s*=\s*(?:new|await|function|lambda)\b")
_ENUM_MEMBER = re.compile(r"^[A-Z_][A-Z0-9_]*(?:\s*=\s*[^,]+)?,$")
_GEN_KW = re.compile(r"^(?:if|for|while|switch|catch|foreach|elif|else\s+if)\s*\(|^(?:return|break|continue|throw|yield)\b[^.!?]*$|^(?:else|try|do|finally)\s*\{?$|^case\s+.+:$|^default\s*:$")
_PROSE_WORD = re.compile(r"[(\"'`*_]*([A-Za-z]+(?:['’-][A-Za-z]+)*)[)\"'`*_,.;:!?]*")
_LEADING_WS = re.compile(r"^\s*")


@dataclass
class Result:
    """What the classifier found. `is_code` applies `min_lines` and the default
    codeness floor; callers compare `confidence` with their own threshold."""

    is_code: bool
    language: str | None
    confidence: float
    lines: int  # non-blank lines of the code region (whole text when it is all code)
    code_lines: int
    codeness: float
    reason: str = ""  # why it is not code ("json", "minified", "prose", ...), or ""
    scores: dict[str, float] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)  # line kinds in the whole text


def classify(text: str, filename: str | None = None, min_lines: int = 15) -> Result:
    """Classify one text. `filename` is a hint (its extension boosts a language that
    already has evidence). `min_lines` is the minimum number of non-blank lines of a code
    region."""
    if not text or not text.strip():
        return _no("empty")
    lines = text.split("\n")
    nonblank = sum(1 for ln in lines if ln.strip())
    if nonblank < min_lines:
        return _no("too_short", lines=nonblank)
    reject = _whole_text_reject(text, lines)
    if reject:
        return _no(reject, lines=nonblank)
    lines = [ln for ln in lines if len(ln) <= LONG_LINE]  # long lines are data, not code
    analysed = lines[:PROBE_LINES]
    kinds, scores = _line_kinds(analysed)
    if len(lines) > PROBE_LINES and kinds.count("code") >= 3:
        analysed = lines[:MAX_LINES]  # looks like code: look further
        kinds, scores = _line_kinds(analysed)
    counts: dict[str, int] = {}
    for kind in kinds:
        if kind:
            counts[kind] = counts.get(kind, 0) + 1
    start, end = _best_region(kinds)
    region_kinds = kinds[start:end]
    code = sum(1 for k in region_kinds if k == "code")
    code += 0.5 * sum(1 for k in region_kinds if k == "weak")
    noncode = sum(1 for k in region_kinds if k in NONCODE)
    region_lines = sum(1 for k in region_kinds if k)
    codeness = code / (code + noncode) if code else 0.0
    if end - start >= len(analysed) - 1 and len(lines) > len(analysed):
        # the whole analysed head is code: report the whole text's size
        region_lines = nonblank

    lang_scores = {lang: 0.0 for lang in LANGUAGES}
    for i in range(start, end):
        if kinds[i] == "code":
            for lang, s in scores[i].items():
                lang_scores[lang] += s
        elif kinds[i] == "weak":
            for lang, s in scores[i].items():
                lang_scores[lang] += 0.5 * s
    first = next((ln for ln in analysed if ln.strip()), "")
    bang = language_from_shebang(first.strip())
    if bang:
        lang_scores[bang] += 6.0 + 0.2 * code
    hint = language_from_filename(filename)
    if hint and lang_scores[hint] > 0:
        lang_scores[hint] = lang_scores[hint] * 1.5 + 0.1 * code
    ranked = sorted(lang_scores.items(), key=lambda kv: kv[1], reverse=True)
    (top_lang, top), (_, second) = ranked[0], ranked[1]
    rounded = {k: round(v, 1) for k, v in ranked if v > 0}

    if code == 0 or top <= 0:
        return Result(False, None, 0.0, region_lines, int(code), codeness, _dominant(counts),
                      rounded, counts)
    evidence = min(1.0, top / max(code, 1) / 1.2)  # language score per code line
    purity = top / (top + second)  # 0.5 .. 1
    conf = _clamp((codeness - 0.45) / 0.35) * (0.55 + 0.45 * evidence) * (0.75 + 0.5 * (purity - 0.5))
    conf = round(min(1.0, conf), 3)
    # A snippet that is nearly all code may lose a line or two at its edges to the region;
    # code embedded in a longer text must make a full min_lines region on its own.
    if region_lines >= 0.8 * nonblank:
        enough = region_lines >= -(-4 * min_lines // 5) and code >= max(4, min_lines // 3)
    else:  # embedded: a full region with mostly code lines
        enough = region_lines >= min_lines and code >= max(4, 0.6 * min_lines)
    is_code = enough and codeness >= 0.6 and conf > 0.0
    reason = "" if is_code else ("too_short" if not enough else _dominant(counts) or "weak")
    return Result(is_code, top_lang, conf, region_lines, int(code), round(codeness, 3), reason,
                  rounded, counts)


def _no(reason: str, lines: int = 0) -> Result:
    return Result(False, None, 0.0, lines, 0, 0.0, reason)


def _clamp(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else x


def _dominant(counts: dict[str, int]) -> str:
    best = max(((counts.get(k, 0), k) for k in NONCODE), default=(0, ""))
    return best[1] if best[0] else ""


def _whole_text_reject(text: str, lines: list[str]) -> str:
    head = text[:4096]
    if "\x00" in head:
        return "binary"
    controls = len(_CONTROL.findall(head))
    if controls > len(head) * 0.02 + 2:
        return "binary"
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        try:
            json.loads(text)
            return "json"
        except ValueError:
            pass
    if not _PHP_OPEN.search(text):
        if _HTML_PAGE.search(head):
            return "html"
        if _XML_DOC.match(head):
            return "xml"
    total = sum(len(ln) for ln in lines) or 1
    long_chars = sum(len(ln) for ln in lines if len(ln) > LONG_LINE)
    if long_chars > 0.5 * total:
        return "minified"
    if _BUNDLE.search(text[:20000]) or _BUNDLE.search(text[-2000:]):
        return "bundled"
    b64 = sum(1 for ln in lines[:400] if _B64_LINE.match(ln.strip()))
    if b64 > 0.5 * min(len(lines), 400):
        return "base64"
    return ""


def _line_kinds(lines: list[str]) -> tuple[list[str], list[dict[str, float]]]:
    """Per line: its kind ("" for blank) and its per-language scores."""
    kinds: list[str] = []
    scores: list[dict[str, float]] = []
    in_block = False  # inside /* ... */
    in_doc: str | None = None  # inside a Python triple-quoted string: the quote
    in_trace = False  # after a traceback header, indented quoted source lines are trace
    prev_file_line = False
    for raw in lines:
        line = raw.rstrip()
        s = line.strip()
        if not s:
            kinds.append("")
            scores.append({})
            continue
        # multi-line comments and docstrings
        if in_block:
            kinds.append("comment")
            scores.append({})
            if "*/" in s:
                in_block = False
            continue
        if in_doc:
            kinds.append("comment")
            scores.append({})
            if in_doc in s:
                in_doc = None
            continue
        if s.startswith("/*") and "*/" not in s[2:]:
            in_block = True
            kinds.append("comment")
            scores.append({})
            continue
        if s.endswith("*/") and "/*" not in s and _relabel_as_comment(kinds, scores):
            # a comment closing that we never saw open: the text started inside a comment
            kinds.append("comment")
            scores.append({})
            continue
        quote = _DQ3 if _DQ3 in s else _SQ3 if _SQ3 in s else None
        if quote and s.count(quote) == 1:
            before, after = s.split(quote, 1)
            before = before.rstrip("rbuRBUfF")
            if after.strip():
                opening = True  # """Summary line
            elif before.strip():
                opening = before.rstrip()[-1:] in "=(,[{:+"  # x = """  vs  end of text."""
            else:
                opening = _prev_kind(kinds) in ("code", "weak")  # a bare quote after `def f():`
            if not opening and not in_doc:
                # a closing quote we never saw open: the text started inside a docstring
                _relabel_as_comment(kinds, scores)
            else:
                in_doc = quote
            kinds.append("comment")
            scores.append({"python": 1.0})
            continue
        # stack traces and logs
        if _TRACE.match(s) or (in_trace and _GO_FRAME.match(s)):
            kinds.append("trace")
            scores.append({})
            if s.startswith(("Traceback", "goroutine", "File \"")):
                in_trace = True
            prev_file_line = s.startswith("File \"")
            continue
        if prev_file_line and raw[:1] in " \t":
            # the source line a Python traceback quotes under `File "...", line N`
            kinds.append("trace")
            scores.append({})
            prev_file_line = False
            continue
        prev_file_line = False
        if in_trace and not raw[:1] in " \t" and not _GO_FRAME.match(s):
            in_trace = False
        if _LOG.match(s):
            kinds.append("log")
            scores.append({})
            continue
        # comments (preprocessor lines, Rust attributes and shebangs are code)
        if s[0] == "#" and (_C_PREPROC.match(s) or _RUST_ATTR.match(s) or s.startswith("#!")):
            pass
        elif _LINE_COMMENT.match(s) or s.startswith("<!--") or s.startswith("'''"):
            if s.startswith("*") and not s.startswith(("*/", "* ", "*\t")) and s != "*" and \
                    not s.startswith("**"):
                pass  # `*ptr = x;` is code, not a comment continuation
            else:
                kinds.append("comment")
                scores.append({})
                continue
        sc = {}
        best = 0.0
        sc = score_line(raw)
        best = max(sc.values()) if sc else 0.0
        kind = _kind(s, best)
        kinds.append("weak" if kind == "neutral" and best >= 0.7 else kind)
        scores.append(sc)
        opened = s.rfind("/*")
        # a comment that starts after code and runs on; "/*" glued to a word is a path or a
        # glob in prose ("http/*: update ..."), not a comment
        if opened > 0 and s[opened - 1] in " \t;{})" and opened > s.rfind("*/") \
                and s.count('"', 0, opened) % 2 == 0 and s.count("'", 0, opened) % 2 == 0:
            in_block = True
    return kinds, scores


def _relabel_as_comment(kinds: list[str], scores: list[dict], max_code: float = 0.3) -> bool:
    """The text began inside a comment or docstring that closes here: the lines so far were
    comment. Refused (False) when they look too much like code to have been a comment."""
    seen = [k for k in kinds if k]
    if seen and sum(k == "code" for k in seen) > max_code * len(seen):
        return False
    for j, kind in enumerate(kinds):
        if kind:
            kinds[j] = "comment"
            scores[j] = {}
    return True


def _prev_kind(kinds: list[str]) -> str:
    for kind in reversed(kinds):
        if kind:
            return kind
    return ""


_TRAILING_COMMENT = re.compile(r"\s+(?:(?:#|//)\s.*|/\*.*?(?:\*/)?\s*)$")
_DQ3, _SQ3 = '"' * 3, "'" * 3


_STRING_LINE = re.compile(r"""^[rbuf]*(["'`]).*\1\s*[,);+\]]*\s*$""")


# a Markdown/reST table row: cells between pipes, no statement punctuation
_TABLE_ROW = re.compile(r"^\|(?:[^|;{}=]*\|){2,}$")


def _kind(s: str, best: float) -> str:
    if _TABLE_ROW.match(s):
        return "data"
    if _CHANGELOG_ITEM.match(s):
        return "prose"  # names functions, but says what changed: "o Fix foo() (3189eb0 A. Author)"
    if "#" in s or "//" in s or "/*" in s:
        s = _TRAILING_COMMENT.sub("", s) or s
    if _STRING_LINE.match(s):
        return "code" if best >= STRONG_LINE else "neutral"  # a string literal (its text may be prose)
    prose = _is_prose(s)
    if not prose and s.endswith(".") and not s.endswith("..") and len(_words(s)) >= 2:
        prose = True  # ends like a sentence
    if best >= STRONG_LINE and not (prose and best < 3):
        return "code"
    if _BRACKETS_ONLY.match(s):
        return "neutral"
    generic = _generic_code(s)
    if generic and not prose:
        return "code"
    if best >= 1 and generic:
        return "code"
    if prose:
        return "prose"
    if _MARKUP.match(s):
        return "markup"
    if _B64_LINE.match(s):
        return "data"
    if _JSON_PAIR.match(s):
        return "data"
    if _INI_SECTION.match(s) and not re.match(r"^\[[A-Z]\w*(?:\(.*\))?\]$", s):
        return "config"
    if _CONFIG_KV.match(s) or _YAML_ITEM.match(s):
        return "config" if best < 1 else "neutral"
    if _csv_row(s):
        return "data"
    if _MD.match(s):
        return "prose"
    if _KV_PLAIN.match(s):
        return "neutral"
    if best > 0:
        return "neutral"
    words = _words(s)
    if len(words) >= 4 and not _CODE_PUNCT.search(s) and \
            sum(map(len, words)) >= 0.75 * len(s.replace(" ", "")):
        return "prose"  # short sentence fragments, headings, list items
    return "neutral"


def _generic_code(s: str) -> bool:
    if _GEN_END.search(s) and not s.endswith((".", "!", "?")):
        # `;` at the end of a wordy line is prose punctuation more often than code
        if s.endswith(";") and _prose_words(s) >= 6 and not _GEN_CALL.search(s) \
                and not _GEN_OP.search(s) and "=" not in s:
            return False
        return True
    if _GEN_OP.search(s):
        return True
    if _GEN_KW.match(s):
        return True
    if _GEN_ASSIGN.match(s) or _ENUM_MEMBER.match(s):
        return True
    if "(" in s and _GEN_CALL.search(s) and not s.endswith(".") and _prose_words(s) < 3:
        return True
    return False


def _words(s: str) -> list[str]:
    """Natural-language words: whitespace-separated tokens made of letters only, with
    sentence punctuation around them (identifiers like snake_case or int8 do not count)."""
    return [m.group(1) for m in map(_PROSE_WORD.fullmatch, s.split()) if m]


def _prose_words(s: str) -> int:
    return sum(1 for w in _words(s) if w.lower() in STOPWORDS)


# a changelog or commit-list entry: a bullet, text, and a commit id or issue number in brackets
_CHANGELOG_ITEM = re.compile(r"^(?:[o*+-]|\d+[.)])\s+\S.*\((?:[0-9a-f]{7,40}|#\d+)(?:[ ,][^()]*)?\)$")
_NOT_PROSE = re.compile(r"[{}=$\\]|\.[A-Za-z_]\w*\(")
_QUOTED = re.compile(r"""(?<![A-Za-z])(?:'[^'\n]*'|"[^"\n]*"|`[^`\n]*`)(?![A-Za-z])""")


def _is_prose(s: str) -> bool:
    if "'" in s or '"' in s or "`" in s:
        s = _QUOTED.sub("S", s)
    if s[-1] in "([;" or _NOT_PROSE.search(s):
        return False
    words = _words(s)
    n = len(words)
    if n < 5:
        return False
    chars = len(s) - s.count(" ")
    alpha = sum(len(w) for w in words)
    if alpha < 0.65 * chars:
        return False
    stop = sum(1 for w in words if w.lower() in STOPWORDS)
    return stop >= 2 and stop >= 0.15 * n


def _csv_row(s: str) -> bool:
    if _CSV_CODE.search(s):
        return False
    for sep in (",", "\t", ";", "|"):
        if s.count(sep) >= 2:
            return True
    return False


def _best_region(kinds: list[str]) -> tuple[int, int]:
    """Maximum-sum contiguous segment (Kadane): code +1, weak +0.5, comment/neutral +0.1,
    non-code -2, blank 0. Returns [start, end)."""
    best, best_start, best_end = 0.0, 0, 0
    cur, cur_start = 0.0, 0
    for i, kind in enumerate(kinds):
        if kind == "code":
            w = 1.0
        elif kind in ("comment", "neutral"):
            w = 0.1
        elif kind == "weak":
            w = 0.5
        elif kind:
            w = -2.0
        else:
            w = 0.0
        if cur <= 0 and w > 0:
            cur, cur_start = 0.0, i
        cur += w
        if cur > best:
            best, best_start, best_end = cur, cur_start, i + 1
        if cur < 0:
            cur = 0.0
    return best_start, best_end
