"""keepalived.conf lexical layer: turns files into a stream of logical lines with file:line.

Follows keepalived 2.2.7 ``lib/parser.c`` (``read_line``, ``decomment``, ``check_definition``,
``replace_param``, ``add_seq``, ``add_lst``, ``check_include``, ``alloc_strvec_r``):

* comments ``#``/``!`` outside double quotes, ``\\#``/``\\!`` literal;
* ``@ID rest`` / ``@^ID rest`` conditionals against the config id;
* ``$NAME=VALUE`` definitions (multi-line with trailing ``\\``), lazy recursive ``$NAME``/``${NAME}``
  expansion, predefined ``${_PWD}``, ``${_INSTANCE}``, ``${_RANDOM [MIN [MAX]]}``, ``${_HASH}``,
  ``${_BANG}``, ``${_ENV VAR}`` (pyvrrp extension listed in the reference);
* ``~SEQ(var,[start,][step,]end)``, ``~SEQx``, ``~LST(...)`` loops (nesting);
* ``include``/``include{r,m,w,b,a}`` with glob and ``{a,b}``, relative to the including file;
* every unquoted ``{``/``}`` splits a line, so each logical line is either a lone brace or text.

Everything that goes wrong is reported through a callback as (level, file, line, message); this module
never raises for content. Pure: reads files only.
"""

from __future__ import annotations

import glob as _glob
import os
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

#: include type bits (keepalived ``include_t``)
INCLUDE_R = 1  # unreadable file is an error
INCLUDE_M = 2  # missing file is an error
INCLUDE_W = 4  # wildcard without match is an error
INCLUDE_B = 8  # missing file of a brace expansion is an error
INCLUDE_ALL = INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B

KEEPALIVED_MAXBUF = 1024  # lib/parser.h MAXBUF: the line buffer of read_line/replace_param
MAX_INCLUDE_DEPTH = 64
MAX_EXPANSIONS = 4096  # definition replacements per line (keepalived would loop forever on $X=$X)
MAX_SEQ_ITEMS = 100_000  # total lines produced by ~SEQ/~LST

Report = Callable[[str, str, int, str], None]
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WS = " \t"


@dataclass(slots=True)
class Line:
    """One logical line: ``text`` has no comment and no unquoted brace unless it *is* the brace."""

    text: str
    file: str
    lineno: int

    def tokens(self, report: Report | None = None) -> list[str]:
        return split_tokens(self.text, lambda m: report and report("error", self.file, self.lineno, m))


def split_tokens(s: str, err: Callable[[str], object] | None = None) -> list[str]:
    """``alloc_strvec_r``: whitespace separated words; ``"..."`` is one word without the quotes."""
    out: list[str] = []
    i, n = 0, len(s)
    while True:
        while i < n and s[i] in " \t\r\n\v\f":
            i += 1
        if i >= n:
            break
        if s[i] == '"':
            j = s.find('"', i + 1)
            if j < 0:
                if err:
                    err(f"unmatched quote: '{s}'")
                break
            out.append(s[i + 1 : j])
            i = j + 1
        else:
            j = i
            while j < n and s[j] not in ' \t\r\n\v\f"':
                j += 1
            out.append(s[i:j])
            i = j
    return out


_ESC = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def split_command(s: str) -> list[str] | None:
    """``alloc_strvec_quoted_escaped``: split a script command line. Double or single quotes group
    words, backslash escapes (``\\a \\b \\E \\f \\n \\r \\t \\v \\nnn \\xXX \\cC``) are decoded.
    Returns None for an unterminated quote or a trailing backslash."""
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        while i < n and s[i] in " \t":
            i += 1
        if i >= n:
            break
        word: list[str] = []
        quote = ""
        while i < n:
            c = s[i]
            if c == "\\":
                i += 1
                if i >= n:
                    return None
                c = s[i]
                if c == "x" and i + 1 < n and s[i + 1] in "0123456789abcdefABCDEF":
                    i += 1
                    v = 0
                    while i < n and s[i] in "0123456789abcdefABCDEF":
                        v = ((v << 4) | int(s[i], 16)) & 0xFF
                        i += 1
                    word.append(chr(v))
                elif c == "c" and i + 1 < n:
                    word.append(chr(ord(s[i + 1]) & 0x1F))
                    i += 2
                elif "0" <= c <= "7":
                    v = 0
                    k = 0
                    while k < 3 and i < n and "0" <= s[i] <= "7":
                        v = (v << 3) + int(s[i])
                        i += 1
                        k += 1
                    word.append(chr(v & 0xFF))
                else:
                    word.append(_ESC.get(c, c))
                    i += 1
                continue
            if quote:
                if c == quote:
                    quote = ""
                else:
                    word.append(c)
                i += 1
                continue
            if c in "\"'":
                quote = c
                i += 1
                continue
            if c in " \t":
                break
            word.append(c)
            i += 1
        if quote:
            return None
        out.append("".join(word))
    return out


def decomment(s: str) -> str:
    """keepalived ``decomment``: strip leading blanks, comments, ``\\#``/``\\!`` escapes and trailing
    blanks (keeping a trailing continuation backslash)."""
    s = s.lstrip(_WS)
    if not any(c in s for c in '!#"\\'):
        return s.rstrip(_WS)
    out: list[str] = []
    quote = False
    cont = False
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == '"':
            quote = not quote
            out.append(c)
            i += 1
        elif c == "\\":
            if i + 1 < n:
                nxt = s[i + 1]
                if not quote and nxt in "#!":
                    out.append(nxt)
                else:
                    out.append(c)
                    out.append(nxt)
                i += 2
            else:
                cont = True
                break
        elif not quote and c in "!#":
            # the rest is a comment, but keepalived still sees a continuation backslash at the end
            # (decomment keeps scanning for '\\'), so "# x \\" becomes the line "\\"
            cont = _ends_with_backslash(s, i)
            break
        else:
            out.append(c)
            i += 1
    r = "".join(out).rstrip(_WS)
    if cont:
        r += "\\"
    return r


def _ends_with_backslash(s: str, i: int) -> bool:
    """After a comment start at ``s[i]``: does keepalived's scan end on a lone trailing backslash?"""
    j = i + 1
    n = len(s)
    while j < n:
        if s[j] == "\\":
            if j + 1 >= n:
                return True
            j += 2
            continue
        j += 1
    return False


def expand_braces(pattern: str) -> list[str]:
    """GLOB_BRACE: ``a{b,c}d`` -> ``abd``, ``acd`` (nested braces supported)."""
    depth = 0
    start = -1
    for i, c in enumerate(pattern):
        if c == "\\":
            continue
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                inner = pattern[start + 1 : i]
                parts: list[str] = []
                d = 0
                cur: list[str] = []
                for ch in inner:
                    if ch == "{":
                        d += 1
                    elif ch == "}":
                        d -= 1
                    if ch == "," and d == 0:
                        parts.append("".join(cur))
                        cur = []
                    else:
                        cur.append(ch)
                parts.append("".join(cur))
                if len(parts) == 1:
                    # "{x}" is not an alternative: keep literally
                    rest = expand_braces(pattern[i + 1 :])
                    return [pattern[: i + 1] + r for r in rest]
                res: list[str] = []
                for p in parts:
                    res.extend(expand_braces(pattern[:start] + p + pattern[i + 1 :]))
                return res
    return [pattern]


@dataclass(slots=True)
class _Def:
    name: str
    value: str  # multi-line values joined with "\n"
    multiline: bool = False
    fn: Callable[[str | None], str] | None = None
    max_params: int = 0


@dataclass(slots=True)
class _Seq:
    var: str | None  # ~SEQ variable (None for ~LST)
    text: str
    file: str
    lineno: int
    nxt: int = 0
    step: int = 1
    last: int = 0
    hex: bool = False
    lst_vars: tuple[str, ...] = ()
    lst_values: tuple[tuple[str, ...], ...] = ()
    lst_index: int = 0


class _File:
    __slots__ = ("name", "lines", "pos", "include_type")

    def __init__(self, name: str, text: str, include_type: int) -> None:
        self.name = name
        self.lines = text.splitlines()
        self.pos = 0
        self.include_type = include_type


class Lexer:
    """Produces :class:`Line` objects from a top file and its includes (keepalived ``read_line``)."""

    def __init__(
        self,
        report: Report,
        config_id: str | None,
        env: Mapping[str, str] | None = None,
        include_check: int = 0,
        cwd: str | None = None,
    ) -> None:
        self.report = report
        self.config_id = config_id
        self.env = os.environ if env is None else env
        self.include_check = include_check
        self.cwd = cwd
        self.stack: list[_File] = []
        self.defs: dict[str, _Def] = {}
        self.seqs: list[_Seq] = []
        self.multiline: list[str] = []  # pending lines of a multi-line definition expansion
        self.multiline_where: tuple[str, int] = ("", 0)
        self.mdef: _Def | None = None  # a multi-line definition being read
        self.residue: tuple[str, str, int] | None = None
        self.block_depth = 0
        self.seq_items = 0
        self.files_read: list[str] = []
        self._overflow = False
        self._exp_where: tuple[str, int] = ("", -1)
        self._exp_count = 0
        self._std_defs()

    # -- definitions -------------------------------------------------------------------------
    def _std_defs(self) -> None:
        self.defs["_PWD"] = _Def("_PWD", "", fn=lambda p: self._pwd())
        self.defs["_INSTANCE"] = _Def("_INSTANCE", "", fn=lambda p: self.config_id or "")
        self.defs["_RANDOM"] = _Def("_RANDOM", "", fn=self._random, max_params=2)
        self.defs["_HASH"] = _Def("_HASH", "#")
        self.defs["_BANG"] = _Def("_BANG", "!")

    def _pwd(self) -> str:
        # keepalived chdir()s into the directory of the file being read
        if self.stack:
            return os.path.dirname(os.path.abspath(self.stack[-1].name))
        return self.cwd or os.getcwd()

    @staticmethod
    def _random(params: str | None) -> str:
        lo, hi = 0, 32767
        if params:
            nums = params.split()
            try:
                lo = int(nums[0])
                if len(nums) > 1:
                    hi = int(nums[1])
            except ValueError:
                pass
        if hi < lo:
            return str(lo)
        return str(random.randint(lo, hi))

    # -- input -------------------------------------------------------------------------------
    def open_top(self, path: str, text: str | None = None) -> bool:
        """Start reading ``path`` (or ``text`` named ``path``). Returns False if it cannot be read."""
        if text is None:
            try:
                with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                    text = fh.read()
            except OSError:
                return False
        self.stack.append(_File(path, text, 0))
        self.files_read.append(path)
        return True

    def _where(self) -> tuple[str, int]:
        if self.stack:
            f = self.stack[-1]
            return f.name, f.pos
        return "<none>", 0

    def _err(self, msg: str, level: str = "error", where: tuple[str, int] | None = None) -> None:
        f, ln = where or self._where()
        self.report(level, f, ln, msg)

    def _include_err(self, bits: int, msg: str, itype: int = 0) -> None:
        # keepalived file_config_error: the include type of the include being opened counts
        if (self.include_check | itype) & bits:
            self._err(msg, "fatal")
        else:
            self._err(msg, "warning")

    def _include(self, buf: str) -> bool:
        """``check_include``: True if ``buf`` was an include line (consumed)."""
        if not buf.startswith("include") or len(buf) < 8:
            return False
        c7 = buf[7]
        if c7 in _WS:
            itype, rest = 0, buf[8:]
        elif len(buf) > 8 and buf[8] in _WS and c7 in "rmwba":
            itype = {
                "r": INCLUDE_R,
                "a": INCLUDE_ALL,
                "w": INCLUDE_R | INCLUDE_M | INCLUDE_W,
                "m": INCLUDE_R | INCLUDE_M,
                "b": INCLUDE_R | INCLUDE_B,
            }[c7]
            rest = buf[9:]
        else:
            return False
        pattern = rest.strip(_WS)
        if len(self.stack) >= MAX_INCLUDE_DEPTH:
            self._err(f"include depth exceeds {MAX_INCLUDE_DEPTH} at '{pattern}' - skipping")
            return True
        base = os.path.dirname(self.stack[-1].name) if self.stack else (self.cwd or "")
        bits_all = self.include_check | itype | (self.stack[-1].include_type if self.stack else 0)
        has_brace = "{" in pattern
        matches: list[str] = []
        missing = False
        wild = False
        for pat in expand_braces(pattern) if pattern else [pattern]:
            full = pat if os.path.isabs(pat) or not base else os.path.join(base, pat)
            if _glob.has_magic(pat):
                wild = True
                found = sorted(_glob.glob(full))
                matches.extend(p + "/" if os.path.isdir(p) else p for p in found)
            elif os.path.lexists(full):
                matches.append(full + "/" if os.path.isdir(full) else full)
            else:
                missing = True
        if not matches:
            if missing:
                self._include_err(
                    INCLUDE_B if has_brace else INCLUDE_M, f"Config files missing '{pattern}'.", itype
                )
            elif wild:
                self._include_err(INCLUDE_W, f"No config files matched '{pattern}'.", itype)
            return True
        if missing:
            self._include_err(INCLUDE_B, f'Some config files missing: "{pattern}".', itype)
            if bits_all & INCLUDE_B:
                return True
        # push in reverse so the first match is read first
        opened: list[_File] = []
        for m in matches:
            if m.endswith("/"):
                self._include_err(INCLUDE_R, f"Configuration file '{m}' is a directory - skipping", itype)
                continue
            try:
                st = os.stat(m)
                if st.st_mode & 0o111:
                    self._include_err(
                        INCLUDE_R,
                        f"Configuration file '{m}' is not a regular non-executable file - skipping",
                        itype,
                    )
                    continue
                with open(m, encoding="utf-8", errors="surrogateescape") as fh:
                    text = fh.read()
            except (OSError, ValueError) as e:
                self._include_err(INCLUDE_R, f"Configuration file '{m}' open problem ({e}) - skipping", itype)
                continue
            opened.append(_File(m, text, itype))
            self.files_read.append(m)
        self.stack.extend(reversed(opened))
        return True

    def _raw(self) -> tuple[str, str, int] | None:
        """Next non-empty decommented physical line from the include stack."""
        while self.stack:
            f = self.stack[-1]
            if f.pos >= len(f.lines):
                self.stack.pop()
                continue
            raw = f.lines[f.pos]
            f.pos += 1
            raw = raw.rstrip("\r\n")
            if not raw:
                if self.mdef is not None:
                    self.mdef = None
                continue
            buf = decomment(raw)
            if buf:
                return buf, f.name, f.pos
        return None

    # -- expansion ---------------------------------------------------------------------------
    def _find_def(self, s: str, i: int) -> tuple[_Def, int, str | None] | None:
        """``find_definition`` for a use at ``s[i] == '$'``: returns (def, end index, params)."""
        j = i + 1
        braces = j < len(s) and s[j] == "{"
        if braces:
            j += 1
        m = _NAME_RE.match(s, j)
        if not m:
            return None
        name = m.group(0)
        k = m.end()
        params = None
        if braces:
            p = k
            while p < len(s) and (s[p] == " " or s[p].isdigit()):
                p += 1
            ptxt = s[k:p]
            if ptxt.strip():
                if ptxt.endswith(" "):
                    return None
                params = ptxt.strip()
            if p >= len(s) or s[p] != "}":
                # ${_ENV VAR}: pyvrrp accepts a name parameter for _ENV
                if name == "_ENV":
                    m2 = re.match(r"\s+([A-Za-z_][A-Za-z0-9_]*)\}", s[k:])
                    if m2:
                        return _Def("_ENV", self.env.get(m2.group(1), "")), k + m2.end(), None
                return None
            end = p + 1
        else:
            if k < len(s) and s[k] not in " \t,)":
                return None
            end = k
        d = self.defs.get(name)
        if d is None:
            return None
        allow_multiline = end == len(s)
        if d.multiline and not allow_multiline:
            return None
        if params and not d.max_params:
            return None
        return d, end, params

    def _replace(self, buf: str, file: str, lineno: int) -> str | None:
        """``replace_param``: None if nothing was replaced."""
        pos = 0
        found = False
        # the budget is per source line: brace residues of an expanded line are expanded again
        # (as keepalived does), which would otherwise never end for "$B=${B}${B}"
        if self._exp_where != (file, lineno):
            self._exp_where = (file, lineno)
            self._exp_count = 0
        if self._exp_count > MAX_EXPANSIONS:
            return None
        while True:
            i = buf.find("$", pos)
            if i < 0 or i + 1 >= len(buf):
                break
            r = self._find_def(buf, i)
            if r is None:
                pos = i + 1
                continue
            d, end, params = r
            self._exp_count += 1
            value = d.fn(params) if d.fn else d.value
            first, _, more = value.partition("\n") if d.multiline else (value, "", "")
            # keepalived works in a MAXBUF (1024) buffer: a substitution that would not fit stops the
            # expansion and the line is used as far as it got (replace_param returns NULL)
            if self._exp_count > MAX_EXPANSIONS or len(buf) + len(first) - (end - i) >= KEEPALIVED_MAXBUF:
                self._err(
                    f"Parameter substitution on line '{buf[:80]}' would exceed maximum line length",
                    where=(file, lineno),
                )
                self._overflow = True
                return buf
            found = True
            if more:
                self.multiline = more.split("\n") + self.multiline
                self.multiline_where = (file, lineno)
            value = first
            buf = buf[:i] + value + buf[end:]
            if value.lstrip(_WS).startswith("~"):
                break
            pos = i
        return buf if found else None

    def _define(self, buf: str) -> bool:
        """``check_definition``: ``$NAME=VALUE``."""
        m = _NAME_RE.match(buf, 1)
        if not m or m.end() >= len(buf) or buf[m.end()] != "=":
            return False
        name = m.group(0)
        value = buf[m.end() + 1 :].lstrip(_WS)
        d = _Def(name, value)
        if value.endswith("\\"):
            value = value[:-1].rstrip(_WS)
            d.value = value + "\n" if value else ""
            d.multiline = True
            self.mdef = d
        self.defs[name] = d
        return True

    def _add_seq(self, buf: str, file: str, lineno: int) -> bool:
        m = re.match(r"~SEQ(x?)[ \t]*\([ \t]*([^ \t,)]+)[ \t]*,[ \t]*([^)]*)\)(.*)$", buf)
        if not m:
            return False
        hexa, var, args, text = m.groups()
        args2 = self._replace(args, file, lineno)
        if args2 is not None:
            args = args2
        try:
            nums = [int(a.strip(), 0) for a in args.split(",")]
        except ValueError:
            return False
        if len(nums) == 1:
            end = nums[0]
            step = -1 if end < 1 else 1
            start = -1 if end < 0 else 1
        elif len(nums) == 2:
            start, end = nums
            step = 1 if start <= end else -1
        elif len(nums) == 3:
            start, step, end = nums
            if not step or (start < end and step < 0) or (start > end and step > 0):
                self._err(f"Invalid ~SEQ values '{buf}'", where=(file, lineno))
                return True
        else:
            return False
        if hexa and (start < 0 or end < 0):
            self._err(f"~SEQx is only valid for positive numbers '{buf}'", where=(file, lineno))
            return True
        self.seqs.append(_Seq(var, text.lstrip(_WS), file, lineno, start, step, end, bool(hexa)))
        return True

    def _add_lst(self, buf: str, file: str, lineno: int) -> bool:
        m = re.match(r"~LST[ \t]*\((.*)$", buf)
        if not m:
            return False
        s = m.group(1)

        def group(s: str, i: int, stop: str) -> tuple[list[str], int] | None:
            s_ws = len(s) - len(s[i:].lstrip(_WS))
            i = s_ws
            items: list[str] = []
            if i < len(s) and s[i] == "{":
                i += 1
                close = "}"
            else:
                close = ""
            while True:
                while i < len(s) and s[i] in _WS:
                    i += 1
                j = i
                while j < len(s) and s[j] not in " \t,})":
                    j += 1
                items.append(s[i:j])
                i = j
                while i < len(s) and s[i] in _WS:
                    i += 1
                if i >= len(s):
                    return None
                if close and s[i] == "}":
                    i += 1
                    while i < len(s) and s[i] in _WS:
                        i += 1
                    return items, i
                if not close:
                    return items, i
                if s[i] != ",":
                    return None
                i += 1

        r = group(s, 0, ",")
        if r is None:
            return False
        names, i = r
        if i >= len(s) or s[i] != ",":
            return False
        i += 1
        values: list[tuple[str, ...]] = []
        while True:
            r = group(s, i, ",)")
            if r is None:
                return False
            vals, i = r
            if len(vals) > len(names):
                self._err(f"~LST specification has too many values '{buf}'", where=(file, lineno))
                return True
            values.append(tuple(vals + [""] * (len(names) - len(vals))))
            if i < len(s) and s[i] == ")":
                i += 1
                break
            if i >= len(s) or s[i] != ",":
                return False
            i += 1
        self.seqs.append(
            _Seq(None, s[i:].lstrip(_WS), file, lineno, lst_vars=tuple(names), lst_values=tuple(values))
        )
        return True

    def _from_seq(self) -> tuple[str, str, int] | None:
        seq = self.seqs[-1]
        self.seq_items += 1
        if self.seq_items > MAX_SEQ_ITEMS:
            self._err("~SEQ/~LST expansion too large - stopping", where=(seq.file, seq.lineno))
            self.seqs.clear()
            return None
        if seq.var is not None:
            val = format(seq.nxt, "x") if seq.hex else str(seq.nxt)
            self.defs[seq.var] = _Def(seq.var, val)
            seq.nxt += seq.step
            if (seq.step > 0 and seq.nxt > seq.last) or (seq.step < 0 and seq.nxt < seq.last):
                self.seqs.pop()
        else:
            for name, val in zip(seq.lst_vars, seq.lst_values[seq.lst_index], strict=True):
                self.defs[name] = _Def(name, val)
            seq.lst_index += 1
            if seq.lst_index >= len(seq.lst_values):
                self.seqs.pop()
        return seq.text, seq.file, seq.lineno

    # -- the main loop -----------------------------------------------------------------------
    def lines(self) -> Iterator[Line]:
        while True:
            ln = self.read_line()
            if ln is None:
                return
            yield ln

    def read_line(self) -> Line | None:  # noqa: C901 - mirrors keepalived's read_line
        while True:
            if self.residue is not None:
                buf, file, lineno = self.residue
                self.residue = None
            elif self.seqs:
                r = self._from_seq()
                if r is None:
                    continue
                buf, file, lineno = r
            elif self.multiline:
                buf = self.multiline.pop(0)
                file, lineno = self.multiline_where
            else:
                r = self._raw()
                if r is None:
                    if self.mdef is not None:
                        self.mdef = None
                    return None
                buf, file, lineno = r
                if self.mdef is not None:
                    d = self.mdef
                    if buf.endswith("\\"):
                        piece = buf[:-1].rstrip(_WS)
                        if piece:
                            d.value += piece + "\n"
                    else:
                        d.value += buf
                        self.mdef = None
                    if self.mdef is None and d.value.endswith("\n"):
                        d.value = d.value[:-1]
                    if self.mdef is None and "\n" not in d.value:
                        d.multiline = False
                    continue
            if not buf:
                continue
            recheck = True
            while recheck:
                recheck = False
                if buf.startswith("@"):
                    neg = buf.startswith("@^")
                    ofs = 2 if neg else 1
                    m = re.search(r"[ \t]", buf[ofs:])
                    if not m:
                        buf = ""
                        break
                    ident = buf[ofs : ofs + m.start()]
                    match = self.config_id is not None and ident == self.config_id
                    if match == neg:
                        buf = ""
                        break
                    buf = buf[ofs + m.start() :].lstrip(_WS)
                if buf.startswith("$") and self._define(buf):
                    buf = ""
                    break
                if buf.startswith("~SEQ") or buf.startswith("~LST"):
                    ok = (
                        self._add_seq(buf, file, lineno)
                        if buf[1] == "S"
                        else self._add_lst(buf, file, lineno)
                    )
                    if not ok:
                        kind = "~SEQ" if buf[1] == "S" else "~LST"
                        self._err(f"Invalid {kind} specification '{buf}'", where=(file, lineno))
                    buf = ""
                    break
                if buf.startswith("~"):
                    break
                if "$" in buf:
                    self._overflow = False
                    new = self._replace(buf, file, lineno)
                    if new is None:
                        break
                    if self._overflow:
                        buf = new
                        break
                    buf = decomment(new)
                    if buf.startswith("@") or "$" in buf:
                        recheck = True
            if not buf:
                continue
            if self._include(buf):
                continue
            return self._split_brace(buf, file, lineno)

    def _split_brace(self, buf: str, file: str, lineno: int) -> Line:
        if buf[0] in "{}":
            p = 0
        else:
            p = -1
            i = 0
            n = len(buf)
            while i < n:
                c = buf[i]
                if c == '"':
                    j = buf.find('"', i + 1)
                    if j < 0:
                        break
                    i = j + 1
                    continue
                if c in "{}":
                    p = i
                    break
                i += 1
        if p >= 0:
            if p == 0:
                rest = buf[1:].lstrip(_WS)
                head = buf[0]
            else:
                rest = buf[p:]
                head = buf[:p]
            rest = rest.rstrip(_WS)
            if rest:
                self.residue = (rest, file, lineno)
            buf = head
        buf = buf.rstrip(_WS)
        if buf == "{":
            self.block_depth += 1
        elif buf == "}":
            self.block_depth -= 1
            if self.block_depth < 0:
                self.report("error", file, lineno, "Extra '}' found")
                self.block_depth = 0
        return Line(buf, file, lineno)
