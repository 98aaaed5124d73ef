"""Path expressions: the direct walk for plain paths agrees with jsonpath-ng everywhere."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragwacht.runners.mapping import compile_path

KEYS = st.sampled_from(["a", "b", "sources", "text"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=12,
)
STEP = st.one_of(
    KEYS.map(lambda k: f".{k}"), st.integers(0, 2).map(lambda i: f"[{i}]"), st.just("[*]")
)
PATH = st.lists(STEP, min_size=1, max_size=4).map(lambda steps: "$" + "".join(steps))


@settings(max_examples=200, deadline=None)
@given(doc=JSON, path=PATH)
def test_direct_walk_matches_jsonpath_ng(doc, path) -> None:
    compiled = compile_path(path)
    assert compiled._steps is not None
    expected = [m.value for m in compiled._jsonpath.find(doc)]
    assert compiled._matches(doc) == expected


FIELDS = st.lists(KEYS, min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(doc=JSON, fields=FIELDS, rooted=st.booleans())
def test_field_path_find_matches_jsonpath_ng(doc, fields, rooted) -> None:
    # "$.a.b" and the relative "a.b" (how context fields are written) take the field walk.
    path = ("$." if rooted else "") + ".".join(fields)
    compiled = compile_path(path)
    assert compiled._fields == tuple(fields)
    expected = [m.value for m in compiled._jsonpath.find(doc)]
    assert compiled.find(doc) == ((True, expected[0]) if expected else (False, None))


@pytest.mark.parametrize(
    ("path", "doc", "found", "value"),
    [
        ("$.answer", {"answer": "x"}, True, "x"),
        ("$.answer", {"other": 1}, False, None),
        ("jmes: data.text", {"data": {"text": "y"}}, True, "y"),
        (
            "$.items[?(@.ok == true)].v",
            {"items": [{"ok": False, "v": 1}, {"ok": True, "v": 2}]},
            True,
            2,
        ),
        ("$..id", {"a": {"id": 3}}, True, 3),
    ],
)
def test_find(path, doc, found, value) -> None:
    assert compile_path(path).find(doc) == (found, value)


def test_find_all_flattens_a_single_list_match() -> None:
    doc = {"sources": [{"t": 1}, {"t": 2}]}
    assert compile_path("$.sources").find_all(doc) == doc["sources"]
    assert compile_path("$.sources[*]").find_all(doc) == doc["sources"]
    assert compile_path("jmes: sources[].t").find_all(doc) == [1, 2]
    assert compile_path("$.nothing").find_all(doc) is None


@pytest.mark.parametrize("bad", ["$.a[[", "$.a[?(@.x ==]", "jmes: a[?", "", "jmes:"])
def test_invalid_paths_raise_value_error(bad) -> None:
    with pytest.raises(ValueError):
        compile_path(bad)
