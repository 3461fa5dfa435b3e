"""Golden tests of the keepalived.conf lexer, one feature at a time (keepalived 2.2.7 lib/parser.c)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvrrp.config.lexer import Lexer, decomment, expand_braces, split_command, split_tokens


def lines(
    text: str, config_id: str = "node1", env: dict | None = None, path: str = "t.conf"
) -> list[tuple[int, str]]:
    diags: list[tuple[str, str, int, str]] = []
    lx = Lexer(lambda lv, f, n, m: diags.append((lv, f, n, m)), config_id, env or {})
    lx.open_top(path, text)
    out = [(ln.lineno, ln.text) for ln in lx.lines()]
    lines.diags = diags  # type: ignore[attr-defined]
    return out


def texts(text: str, **kw) -> list[str]:
    return [t for _, t in lines(text, **kw)]


# -- comments, quotes, whitespace -------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("priority 100 # comment", "priority 100"),
        ("priority 100 ! comment", "priority 100"),
        ("   \tpriority 100   ", "priority 100"),
        ('auth_pass "a#b" # c', 'auth_pass "a#b"'),
        (r"x a\#b", "x a#b"),
        (r"x a\!b", "x a!b"),
        ("auth_pass Hello!", "auth_pass Hello"),
        ("# whole line", ""),
        ("! whole line", ""),
    ],
)
def test_decomment(raw: str, want: str) -> None:
    assert decomment(raw) == want


def test_tokens_quotes_and_whitespace() -> None:
    assert split_tokens('notify "/bin/x a b" root') == ["notify", "/bin/x a b", "root"]
    assert split_tokens("a\tb  c") == ["a", "b", "c"]
    assert split_tokens('a"b"') == ["a", "b"]
    errs: list[str] = []
    assert split_tokens('x "unterminated', errs.append) == ["x"]
    assert errs and "unmatched quote" in errs[0]


def test_split_command_escapes_and_quotes() -> None:
    assert split_command(r"/bin/echo 'a b' \x41\t\101 \cA") == ["/bin/echo", "a b", "A\tA", "\x01"]
    assert split_command('"/usr/bin/x arg1" root') == ["/usr/bin/x arg1", "root"]
    assert split_command("x 'open") is None


# -- braces ----------------------------------------------------------------------------------
def test_braces_split_lines() -> None:
    assert texts("vrrp_instance VI_1{\n  state MASTER }\n") == [
        "vrrp_instance VI_1",
        "{",
        "state MASTER",
        "}",
    ]
    assert texts("virtual_ipaddress { 198.18.0.1 }") == ["virtual_ipaddress", "{", "198.18.0.1", "}"]
    assert texts('x "a{b}" {') == ['x "a{b}"', "{"]
    assert texts("} # close") == ["}"]


def test_extra_close_brace_reported() -> None:
    lines("}\n")
    assert any("Extra '}' found" in d[3] for d in lines.diags)  # type: ignore[attr-defined]


# -- conditionals ------------------------------------------------------------------------------
def test_config_id_conditionals() -> None:
    text = "@node1 yes1\n@node2 no1\n@^node2 yes2\n@^node1 no2\n@node1\n"
    assert texts(text, config_id="node1") == ["yes1", "yes2"]
    assert texts(text, config_id="node2") == ["no1", "no2"]


# -- definitions ---------------------------------------------------------------------------------
def test_definitions_simple_braced_and_undefined() -> None:
    text = "$VIP=198.18.0.5\nip $VIP\nip ${VIP}/24\n$VIP,x\nkeep $UNDEF\nkeep ${UNDEF}x\n"
    assert texts(text) == [
        "ip 198.18.0.5",
        "ip 198.18.0.5/24",
        "198.18.0.5,x",
        "keep $UNDEF",
        "keep $",
        "{",
        "UNDEF",
        "}",
        "x",
    ]


def test_definitions_are_lazy_and_recursive() -> None:
    # "$A" followed by "$" is not a use (keepalived needs a blank, ',' or ')' after the name)
    assert texts("$A=1\n$B=$A$A\nv ${B}\n") == ["v $A1"]
    assert texts("$A=x\n$B=$A y\nv $B\n$A=z\nv $B\n") == ["v x y", "v z y"]


def test_multiline_definition() -> None:
    text = "$BLOCK=first \\\n  second \\\n  third\n$BLOCK\nafter\n"
    assert lines(text) == [(4, "first"), (4, "second"), (4, "third"), (5, "after")]


def test_predefined_definitions() -> None:
    assert texts("x ${_INSTANCE}\n", config_id="nodeA") == ["x nodeA"]
    # the line is decommented again after expansion, so only quoted ${_HASH} survives (as keepalived)
    assert texts('x "${_HASH}${_BANG}"\n') == ['x "#!"']
    assert texts("x ${_HASH}y\n") == ["x"]
    assert texts("x ${_ENV HOME}\n", env={"HOME": "/h"}) == ["x /h"]
    r = texts("x ${_RANDOM 5 7}\n")[0].split()[1]
    assert 5 <= int(r) <= 7
    assert texts("x ${_PWD}\n", path="/etc/keepalived/k.conf") == ["x /etc/keepalived"]


# -- loops ---------------------------------------------------------------------------------------
def test_seq_forms() -> None:
    assert texts("~SEQ(i,3) v$i\n") == ["v1", "v2", "v3"]
    assert texts("~SEQ(i,2,4) v$i\n") == ["v2", "v3", "v4"]
    assert texts("~SEQ(i,10,-5,0) v$i\n") == ["v10", "v5", "v0"]
    assert texts("~SEQx(i,9,11) v$i\n") == ["v9", "va", "vb"]
    assert lines("\n~SEQ(i,2) v$i\n") == [(2, "v1"), (2, "v2")]


def test_seq_nested_and_lst() -> None:
    assert texts("~SEQ(i,2) ~SEQ(j,2) v${i}${j}\n") == ["v11", "v12", "v21", "v22"]
    assert texts("~LST(v,a,b) x$v\n") == ["xa", "xb"]
    assert texts("~LST({p,q},{1,2},{3}) x${p}_${q}\n") == ["x1_2", "x3_"]


def test_invalid_seq_reported() -> None:
    assert texts("~SEQ(i,1,-1,5) x\n") == []
    assert any("Invalid ~SEQ" in d[3] for d in lines.diags)  # type: ignore[attr-defined]


# -- includes ------------------------------------------------------------------------------------
def test_include_glob_brace_relative_and_missing(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("from_a\n")
    (tmp_path / "b.conf").write_text("from_b\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "s.conf").write_text("from_s\ninclude ../a.conf\n")
    main = tmp_path / "main.conf"
    main.write_text("include a.conf\ninclude {a,b}.conf\ninclude sub/*.conf\ninclude nothere.conf\nlast\n")
    diags: list[tuple[str, str, int, str]] = []
    lx = Lexer(lambda lv, f, n, m: diags.append((lv, f, n, m)), "x", {})
    assert lx.open_top(str(main))
    got = [(Path(ln.file).name, ln.lineno, ln.text) for ln in lx.lines()]
    assert got == [
        ("a.conf", 1, "from_a"),
        ("a.conf", 1, "from_a"),
        ("b.conf", 1, "from_b"),
        ("s.conf", 1, "from_s"),
        ("a.conf", 1, "from_a"),
        ("main.conf", 5, "last"),
    ]
    # plain include of a missing file is not an error (keepalived: logged only)
    assert [d[0] for d in diags] == ["warning"]


def test_includem_missing_is_fatal(tmp_path: Path) -> None:
    main = tmp_path / "m.conf"
    main.write_text("includem gone.conf\n")
    diags: list[tuple[str, str, int, str]] = []
    lx = Lexer(lambda lv, f, n, m: diags.append((lv, f, n, m)), "x", {})
    lx.open_top(str(main))
    list(lx.lines())
    assert diags[0][0] == "fatal" and diags[0][2] == 1 and "gone.conf" in diags[0][3]


def test_include_recursion_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "loop.conf").write_text("include loop.conf\nx\n")
    diags: list[tuple[str, str, int, str]] = []
    lx = Lexer(lambda lv, f, n, m: diags.append((lv, f, n, m)), "x", {})
    lx.open_top(str(tmp_path / "loop.conf"))
    assert len(list(lx.lines())) < 100
    assert any("include depth" in d[3] for d in diags)


def test_expand_braces() -> None:
    assert expand_braces("a{b,c}d") == ["abd", "acd"]
    assert expand_braces("{x,y{1,2}}") == ["x", "y1", "y2"]
    assert expand_braces("plain") == ["plain"]


def test_runaway_definition_is_bounded() -> None:
    # keepalived loops forever on the second one (each brace residue is expanded again)
    out = texts("$A=$A$A\nv ${A}\n$B=${B}${B}\nw ${B}\n")
    assert out[0].startswith("v $A$A") and len(out[0]) < 1024
    assert 1 < len(out) < 20000
    assert any("would exceed maximum line length" in d[3] for d in lines.diags)  # type: ignore[attr-defined]
