"""Reading YAML files with errors that name the file and line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ragwacht.errors import ConfigError


def read_yaml(
    path: str | Path, what: str, *, not_found_hint: str = "check the path"
) -> tuple[str, Any]:
    """Read and parse a YAML file; return its text (for line look-ups) and its data.

    Raises:
        ConfigError: the file is missing, unreadable or not valid YAML (with the line).

    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} not found", file=path, hint=not_found_hint) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what}: {exc}", file=path) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
            file=path,
            line=(mark.line + 1) if mark else None,
            hint="fix the YAML syntax",
        ) from exc
    return text, data


def yaml_line(text: str, path: Iterable[str | int]) -> int | None:
    """Best-effort 1-based line of a node addressed by ``path`` in a YAML document."""
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in path:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, val in node.value:
                if str(k.value) == str(key):
                    line = k.start_mark.line + 1
                    nxt = val
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            node = node.value[key] if key < len(node.value) else None
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line
