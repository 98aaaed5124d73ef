"""One small lazy registry: plug-ins by name, each imported on first use.

A :class:`Registry` starts from a mapping ``name -> "module.path:object"``. Nothing is imported
until :meth:`Registry.get` asks for a name; the object is then cached. Plug-ins (and tests) add
entries with :meth:`Registry.register`, either as the object itself or as such a spec string.
An unknown name, or a spec that does not import, is a :class:`~ragwacht.errors.ConfigError`
that says what to write instead.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from typing import Any, Generic, TypeVar, cast

from ragwacht.errors import ConfigError

T = TypeVar("T")


def spec_of(obj: Any) -> str:
    """The ``module:qualname`` spec of a class or function."""
    return f"{obj.__module__}:{obj.__qualname__}"


class Registry(Generic[T]):
    """Objects by name, loaded from ``module:object`` specs on first use.

    Args:
        kind: what the names are, for messages (``metric``, ``judge type``).
        specs: the built-in entries, ``name -> "module.path:object"``.
        field: the configuration field an unknown name is reported on.

    """

    def __init__(
        self, kind: str, specs: Mapping[str, str] | None = None, *, field: str | None = None
    ) -> None:
        self.kind = kind
        self.field = field
        self._specs: dict[str, str] = dict(specs or {})
        self._loaded: dict[str, T] = {}

    def names(self) -> list[str]:
        """Every known name, sorted (built-in and registered; nothing is imported)."""
        return sorted(self._specs.keys() | self._loaded.keys())

    def __contains__(self, name: object) -> bool:
        return name in self._specs or name in self._loaded

    def register(self, name: str, obj_or_spec: T | str) -> None:
        """Add a plug-in under ``name``: the object, or a ``module:object`` spec to load later.

        Registering the object a built-in spec points at (a module registering its own
        classes while it is imported) is a no-op; a different object under a taken name is
        a ``TypeError``.
        """
        if isinstance(obj_or_spec, str):
            if ":" not in obj_or_spec:
                raise ValueError(f"spec {obj_or_spec!r} is not 'module.path:object'")
            if name in self and self._specs.get(name) != obj_or_spec:
                raise TypeError(f"{self.kind} {name!r} registered twice")
            self._specs[name] = obj_or_spec
            return
        current = self._loaded.get(name)
        if current is not None and current is not obj_or_spec:
            raise TypeError(f"{self.kind} {name!r} registered twice")
        spec = self._specs.get(name)
        if current is None and spec is not None and spec != spec_of(obj_or_spec):
            raise TypeError(f"{self.kind} {name!r} registered twice (built in as {spec})")
        self._loaded[name] = obj_or_spec

    def get(self, name: str) -> T:
        """The object for ``name``, importing its module on first use.

        Raises:
            ConfigError: ``name`` is unknown, or its module or object does not exist.

        """
        if name in self._loaded:
            return self._loaded[name]
        spec = self._specs.get(name)
        if spec is None:
            raise self.unknown(name)
        path, _, attr = spec.partition(":")
        try:
            obj = importlib.import_module(path)  # lazy: a registry loads a plug-in on first use
        except ModuleNotFoundError as exc:
            raise ConfigError(
                f"{self.kind} '{name}' cannot be loaded: no module named '{exc.name}'",
                field=self.field,
                hint=f"install the package that provides {path} or fix the spec {spec}",
            ) from None
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(
                f"{self.kind} '{name}' cannot be loaded: {path} has no '{attr}'",
                field=self.field,
                hint=f"fix the spec {spec}",
            ) from None
        # Importing the module may have registered the object already (``@register``).
        self._loaded.setdefault(name, cast(T, obj))
        return self._loaded[name]

    def load_all(self) -> dict[str, T]:
        """Every entry loaded, by name (imports every module)."""
        return {name: self.get(name) for name in self.names()}

    def unknown(
        self,
        name: str,
        *,
        file: Any = None,
        line: int | None = None,
        field: str | None = None,
        message: str | None = None,
    ) -> ConfigError:
        """The error for an unknown ``name``: did-you-mean when one is close, else the list."""
        known = self.names()
        close = difflib.get_close_matches(name, known, n=3)
        if close:
            hint = "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
        else:
            hint = f"use one of: {', '.join(known) or '(none)'}"
        return ConfigError(
            message or f"unknown {self.kind} '{name}'",
            file=file,
            line=line,
            field=field or self.field,
            hint=hint,
        )
