"""The lazy registry behind metrics, runners and judges: loads on first use, names the fix."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ragwacht._registry import Registry
from ragwacht.errors import ConfigError
from ragwacht.evals.run import build_metrics
from ragwacht.evals.spec import load_suite
from ragwacht.metrics import base
from ragwacht.metrics.base import Metric, ScoreInput, metric_class, register, registry
from ragwacht.metrics.judges.factory import JUDGE_TYPES, JUDGES
from ragwacht.records import MetricResult
from ragwacht.runners.base import RUNNERS
from ragwacht.runners.profile import PROFILE_TYPES


def _plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> str:
    (tmp_path / f"{name}.py").write_text("VALUE = {'loaded': True}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


def test_a_spec_is_imported_on_first_get_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mod = _plugin_module(tmp_path, monkeypatch, "ragwacht_registry_lazy_plugin")
    reg: Registry[dict[str, bool]] = Registry("thing", {"lazy": f"{mod}:VALUE"})
    assert reg.names() == ["lazy"] and "lazy" in reg
    assert mod not in sys.modules
    value = reg.get("lazy")
    assert value == {"loaded": True}
    assert mod in sys.modules
    assert reg.get("lazy") is value


def test_a_stdlib_object_loads_by_spec() -> None:
    reg: Registry[object] = Registry("thing", {"dumps": "json:dumps"})
    assert reg.get("dumps") is json.dumps


def test_a_typo_of_a_metric_name_says_did_you_mean() -> None:
    with pytest.raises(ConfigError, match="unknown metric 'faithfulnes'") as ei:
        metric_class("faithfulnes")
    assert "did you mean 'faithfulness'" in (ei.value.first.hint or "")
    assert ei.value.first.location.field == "metrics"
    with pytest.raises(ConfigError, match="unknown metric 'recal@5'") as ei:
        metric_class("recal@5")
    assert "did you mean 'recall'?" in (ei.value.first.hint or "")


def test_an_unknown_name_with_nothing_close_lists_the_known_names() -> None:
    reg: Registry[object] = Registry("thing", {"alpha": "json:dumps", "beta": "json:loads"})
    with pytest.raises(ConfigError, match="unknown thing 'zzz'") as ei:
        reg.get("zzz")
    assert ei.value.first.hint == "use one of: alpha, beta"
    with pytest.raises(ConfigError) as ei:
        metric_class("xyzzy")
    hint = ei.value.first.hint or ""
    assert hint.startswith("use one of:") and "recall" in hint and "faithfulness" in hint


def test_metric_class_strips_the_cutoff() -> None:
    assert metric_class("recall@5") is metric_class("recall") is registry()["recall"]


def test_a_plugin_registers_an_object_or_a_spec() -> None:
    reg: Registry[object] = Registry("thing", {"dumps": "json:dumps"})
    marker = object()
    reg.register("mine", marker)
    reg.register("loads", "json:loads")
    assert reg.names() == ["dumps", "loads", "mine"]
    assert reg.get("mine") is marker
    assert reg.get("loads") is json.loads
    reg.register("mine", marker)  # the same object again is fine
    with pytest.raises(TypeError, match="registered twice"):
        reg.register("mine", object())
    with pytest.raises(TypeError, match="registered twice"):
        reg.register("dumps", json.loads)


def test_a_plugin_metric_registers_with_the_decorator(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh: Registry[type[Metric]] = Registry("metric", base.BUILTIN_METRICS, field="metrics")
    monkeypatch.setattr(base, "METRICS", fresh)

    @register
    class Shout(Metric):
        name = "shout_rate"

        def score(self, item: ScoreInput) -> MetricResult:
            return self.result(1.0)

    assert metric_class("shout_rate") is Shout
    assert "shout_rate" in registry() and "recall" in registry()
    with pytest.raises(TypeError, match="registered twice"):

        @register
        class Other(Metric):
            name = "shout_rate"


def test_a_spec_whose_module_is_missing_is_a_config_error_naming_it() -> None:
    reg: Registry[object] = Registry(
        "thing", {"gone": "ragwacht_no_such_module:Thing", "typo": "json:dumsp"}, field="x"
    )
    with pytest.raises(ConfigError, match="ragwacht_no_such_module") as ei:
        reg.get("gone")
    assert ei.value.first.location.field == "x"
    assert "ragwacht_no_such_module:Thing" in (ei.value.first.hint or "")
    with pytest.raises(ConfigError, match="json has no 'dumsp'"):
        reg.get("typo")


def test_runner_and_judge_registries_cover_the_configurable_types() -> None:
    assert sorted(RUNNERS.names()) == sorted(PROFILE_TYPES)
    assert sorted(JUDGES.names()) == sorted(JUDGE_TYPES)
    with pytest.raises(ConfigError, match="unknown profile type 'htpp'") as ei:
        RUNNERS.get("htpp")
    assert "did you mean 'http'?" in (ei.value.first.hint or "")
    with pytest.raises(ConfigError, match="unknown judge type 'lexcal'") as ei:
        JUDGES.get("lexcal")
    assert "did you mean 'lexical'?" in (ei.value.first.hint or "")


def test_a_typo_of_a_metric_in_a_suite_fails_with_did_you_mean(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "profile.yaml").write_text("type: http\n", encoding="utf-8")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: s\ndataset: data\nendpoint: profile.yaml\nmetrics:\n  - recall@5\n  - faithfulnes\n",
        encoding="utf-8",
    )
    spec = load_suite(suite)
    with pytest.raises(ConfigError, match="unknown metric 'faithfulnes'") as ei:
        build_metrics(spec, {})
    p = ei.value.first
    assert str(p.location.file).endswith("suite.yaml")
    assert p.location.field == "metrics.1" and p.location.line == 6
    assert "did you mean 'faithfulness'" in (p.hint or "")
