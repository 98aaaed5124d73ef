"""The one YAML reader: safe, strict about duplicate keys, bounded in alias expansion.

Every YAML file ragwacht reads (suites, endpoint profiles, gate policies, judges, datasets)
goes through :func:`compose_checked`, so the same input is refused the same way everywhere:

* a key written twice in one mapping is an error (PyYAML silently keeps the last one, which
  once turned a failing ``gate:`` block into a pass);
* aliases may not expand the document beyond :data:`MAX_ALIAS_EXPANSION` extra nodes (a
  "billion laughs" file is a few hundred bytes that expand to 10^9 nodes once anything walks
  or serialises the data), and recursive aliases are refused;
* errors name the file and line, with how to fix them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ragwacht.errors import ConfigError, Location, Problem

# libyaml when present: the pure-Python parser takes seconds for a set of a few thousand cases.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_ALIAS_EXPANSION = 100_000
"""Nodes that aliases may add to a document beyond the nodes written in it."""

_DUPLICATE_HINT = "keep one; YAML readers silently use the last one"
ALIAS_HINT = (
    "write the values out or use fewer nested aliases (anchors '&' and aliases '*' that repeat "
    "each other multiply the size of the document)"
)


@dataclass(frozen=True)
class YamlIssue:
    """A problem found in a composed YAML document: what, on which 1-based line, which key."""

    message: str
    line: int | None
    key: str | None
    hint: str


class YamlBombError(ValueError):
    """The document's aliases expand beyond the bound, or refer to themselves."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def check_aliases(root: yaml.Node, limit: int = MAX_ALIAS_EXPANSION) -> None:
    """Refuse a node graph whose aliases expand it by more than ``limit`` nodes.

    The composer gives an alias the very node its anchor names, so the graph is small even
    when its expansion is not; sizes are computed once per distinct node (linear time).

    Raises:
        YamlBombError: too much expansion, or an alias inside its own anchor.

    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    distinct = 0
    # Iterative post-order walk: a deep document must not hit Python's recursion limit.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1
            for child in _children(node):
                total += sizes[id(child)]
            sizes[key] = total
            if total - distinct > limit:
                raise YamlBombError(
                    f"YAML aliases expand this document beyond {limit:,} extra values",
                    node.start_mark.line + 1,
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlBombError("a YAML alias refers to itself", node.start_mark.line + 1)
        on_path.add(key)
        distinct += 1
        stack.append((node, True))
        for child in _children(node):
            cid = id(child)
            if cid in on_path:
                raise YamlBombError("a YAML alias refers to itself", child.start_mark.line + 1)
            if cid not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def duplicate_keys(root: yaml.Node) -> list[YamlIssue]:
    """Every key written twice in one mapping, with its line (each distinct node once)."""
    issues: list[YamlIssue] = []
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, _value in node.value:
                # '<<' merge keys may repeat; YAML merges them all.
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    if key_node.value in keys:
                        issues.append(
                            YamlIssue(
                                f"key '{key_node.value}' appears more than once in this mapping",
                                key_node.start_mark.line + 1,
                                key_node.value,
                                _DUPLICATE_HINT,
                            )
                        )
                    keys.add(key_node.value)
        stack.extend(reversed(_children(node)))
    issues.sort(key=lambda i: i.line or 0)
    return issues


def compose_checked(text: str) -> tuple[yaml.Node | None, Any, list[YamlIssue]]:
    """Parse one YAML document safely: its node tree, its data and its duplicate keys.

    Aliases are checked before anything is constructed from them.

    Raises:
        yaml.YAMLError: the text is not YAML.
        YamlBombError: aliases expand beyond the bound or refer to themselves.

    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None, []
        check_aliases(node)
        issues = duplicate_keys(node)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return node, data, issues


def safe_compose(text: str) -> yaml.Node | None:
    """The node tree of a YAML document (for line look-ups); None if it is not safe YAML."""
    try:
        node, _data, _issues = compose_checked(text)
    except (yaml.YAMLError, YamlBombError, RecursionError, ValueError, TypeError):
        return None
    return node


def parse_yaml_text(text: str, *, file: str | Path | None = None) -> Any:
    """Parse YAML text into data, refusing what :func:`compose_checked` refuses.

    Raises:
        ConfigError: not valid YAML, a duplicate key, or an alias bomb (with the line).

    """
    try:
        _node, data, issues = compose_checked(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"not valid YAML: {exc.problem or exc.context or exc}",
            file=file,
            line=(mark.line + 1) if mark else None,
            hint="fix the YAML syntax",
        ) from None
    except YamlBombError as exc:
        raise ConfigError(str(exc), file=file, line=exc.line, hint=ALIAS_HINT) from None
    except RecursionError:
        raise ConfigError(
            "YAML is nested too deeply to read", file=file, hint="use fewer levels of nesting"
        ) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # Constructors raise plain Python errors for odd scalars (e.g. out-of-range dates).
        raise ConfigError(f"not valid YAML: {exc}", file=file, hint="fix the YAML syntax") from None
    if issues:
        raise ConfigError(
            problems=[Problem(i.message, Location(file, i.line, i.key), i.hint) for i in issues]
        )
    return data


def read_yaml(
    path: str | Path, what: str, *, not_found_hint: str = "check the path"
) -> tuple[str, Any]:
    """Read and parse a YAML file; return its text (for line look-ups) and its data.

    Raises:
        ConfigError: the file is missing, unreadable, not valid YAML, has a key twice or
            expands its aliases beyond the bound (with the line).

    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} not found", file=path, hint=not_found_hint) from exc
    except IsADirectoryError as exc:
        raise ConfigError(
            f"{what} is a folder, not a file", file=path, hint=not_found_hint
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what}: {exc}", file=path) from exc
    return text, parse_yaml_text(text, file=path)


def yaml_line(text: str, path: Iterable[str | int], *, key_line: bool = False) -> int | None:
    """Best-effort 1-based line of a node addressed by ``path`` in a YAML document.

    With ``key_line`` the line of the last key itself (where a misspelled or refused key is
    written), else the line where its value starts.
    """
    node: Any = safe_compose(text)
    line = None
    found_key = False
    for key in path:
        found_key = False
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, val in node.value:
                if str(k.value) == str(key):
                    line = k.start_mark.line + 1
                    nxt = val
                    found_key = True
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int | str):
            i = int(key) if str(key).isdigit() else -1
            node = node.value[i] if 0 <= i < len(node.value) else None
        else:
            node = None
    if node is not None and not (key_line and found_key):
        line = node.start_mark.line + 1
    return line


def line_in_file(
    file: str | Path | None, field: str | None, *, key_line: bool = False
) -> int | None:
    """1-based line of dotted ``field`` (``headers.X-Key``, ``metrics.2``) in a YAML file."""
    if file is None or not field:
        return None
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return yaml_line(text, field.split("."), key_line=key_line)
