"""Evasions a leaker might try on a Python fragment, done properly with `tokenize` (so the
result is still valid code): rename every non-builtin identifier, drop comments, swap quote
styles, re-indent with 2 spaces and re-space operators."""

from __future__ import annotations

import builtins
import io
import keyword
import tokenize

_KEEP = set(keyword.kwlist) | set(dir(builtins)) | {"self", "cls"}


def rename_and_reformat(source: str, prefix: str = "q") -> str:
    names: dict[str, str] = {}
    out: list[str] = []
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        toks = _partial_tokens(source)
    depth = 0
    line_start = True
    for tok in toks:
        kind, text = tok.type, tok.string
        if kind == tokenize.COMMENT:
            continue
        if kind in (tokenize.NEWLINE, tokenize.NL):
            out.append("\n")
            line_start = True
            continue
        if kind == tokenize.INDENT:
            depth += 1
            continue
        if kind == tokenize.DEDENT:
            depth = max(0, depth - 1)
            continue
        if kind == tokenize.ENDMARKER:
            break
        if line_start:
            # keep relative indentation, 2 spaces per level of the original column / 4
            out.append("  " * (tok.start[1] // 4))
            line_start = False
        if kind == tokenize.NAME and text not in _KEEP:
            text = names.setdefault(text, f"{prefix}{len(names)}_{text[::-1][:3]}")
        elif kind == tokenize.STRING and text[-1:] == "'" and '"' not in text and not text.endswith("'''"):
            head = text[:text.index("'")]
            text = head + '"' + text[len(head) + 1:-1] + '"'
        elif kind == tokenize.OP and text in ("=", "==", "+", "-", "<", ">", "+=", "and", "or"):
            text = f" {text} "
        elif kind == tokenize.OP and text == ",":
            text = ", "
        out.append(text if kind == tokenize.OP else f"{text} " if kind == tokenize.NAME else text)
    return "".join(out)


def _partial_tokens(source: str):
    toks = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            toks.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return toks
