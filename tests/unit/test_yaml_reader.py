"""The one YAML reader: duplicate keys, alias expansion bounds, lines; the bounded sandbox."""

from __future__ import annotations

import pytest

from ragwacht._yaml import MAX_ALIAS_EXPANSION, parse_yaml_text, yaml_line
from ragwacht.errors import ConfigError
from ragwacht.runners.templating import TemplateRenderError, check_template, render_json


def _bomb(levels: int) -> str:
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_small_aliases_are_fine() -> None:
    data = parse_yaml_text("base: &b {k: 1, m: [1, 2]}\na: *b\nb: {<<: *b, k: 2}\n")
    assert data == {
        "base": {"k": 1, "m": [1, 2]},
        "a": {"k": 1, "m": [1, 2]},
        "b": {"k": 2, "m": [1, 2]},
    }


def test_expansion_within_the_bound_is_fine_and_beyond_it_is_refused() -> None:
    # 10^4 = 10,000 extra nodes: fine; 10^6: refused, naming the line.
    assert len(parse_yaml_text(_bomb(4))["l3"]) == 10
    assert MAX_ALIAS_EXPANSION < 10**6
    with pytest.raises(ConfigError) as exc:
        parse_yaml_text(_bomb(9), file="x.yaml")
    p = exc.value.first
    assert "aliases expand" in p.message and p.location.line is not None and p.hint


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(ConfigError, match="refers to itself"):
        parse_yaml_text("a: &a [1, *a]\n")


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "a"),
        ("top:\n  x: 1\n  y: 2\n  x: 3\n", 4, "x"),
        ("list:\n  - {k: 1, k: 2}\n", 2, "k"),
    ],
)
def test_a_duplicate_key_names_its_line(text: str, line: int, key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_yaml_text(text, file="s.yaml")
    p = exc.value.first
    assert (p.location.line, p.location.field) == (line, key)
    assert "more than once" in p.message


def test_repeated_merge_keys_are_not_duplicates() -> None:
    # '<<' may be written more than once (each merges a mapping); that is not a typo.
    data = parse_yaml_text("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n  z: 3\n")
    assert data["c"]["z"] == 3


def test_yaml_line_of_a_key_or_its_value() -> None:
    text = "variants:\n  fast:\n    fields: {k: 1}\n"
    assert yaml_line(text, ["variants", "fast"]) == 3
    assert yaml_line(text, ["variants", "fast"], key_line=True) == 2
    assert yaml_line("a: &a [1]\n" + _bomb(9), ["a"]) is None  # a bomb has no lines


VARS = {"question": "q", "history": [], "case": {}, "fields": {}, "settings": {}, "variant": {}}


@pytest.mark.parametrize(
    "expr",
    [
        "'a' * 2000000000",
        "2000000000 * 'a'",
        "[0] * 2000000000",
        "9 ** 99999999",
        "'%2000000000s' % 'a'",
        "'a'.center(2000000000)",
        "'a' | center(2000000000)",
        "'{:>2000000000}'.format(1)",
    ],
)
def test_the_sandbox_refuses_huge_values_at_once(expr: str) -> None:
    with pytest.raises(TemplateRenderError, match="too large"):
        render_json("{{ (" + expr + ") | tojson }}", VARS)


def test_the_sandbox_still_renders_ordinary_templates() -> None:
    src = '{"q": {{ question | tojson }}, "line": {{ ("-" * 3) | tojson }}, "n": {{ 2 ** 10 }}}'
    assert render_json(src, VARS) == {"q": "q", "line": "---", "n": 1024}


def test_a_typo_in_a_template_variable_is_found_without_rendering() -> None:
    err = check_template('{"q": {{ questoin | tojson }}}')
    assert err is not None and "questoin" in err and "did you mean 'question'" in err
    assert check_template('{"q": {{ question | tojson }}, "k": {{ fields.k }}}') is None


def test_tojson_of_an_undefined_value_is_a_render_error_not_a_crash() -> None:
    with pytest.raises(TemplateRenderError, match="has no attribute 'nope'"):
        render_json('{"q": {{ case.nope | tojson }}}', VARS)
