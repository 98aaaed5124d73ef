"""The demo job: serve the embedded chatbot on loopback and run the demo suite against it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ragwacht.demo.server import BotServer, DemoBot
from ragwacht.errors import ConfigError
from ragwacht.evals.run import RunOptions, run_suite
from ragwacht.evals.spec import load_suite

DEMO_SUITE = Path("evals") / "registers-demo.yaml"


def find_demo_suite(start: Path | None = None) -> Path:
    """The demo suite in the current project (walking up from ``start``)."""
    start = (start or Path.cwd()).resolve()
    for d in [start, *start.parents]:
        if (d / DEMO_SUITE).is_file():
            return d / DEMO_SUITE
    raise ConfigError(
        f"demo suite {DEMO_SUITE} not found from {start}",
        hint="run `ragwacht demo` inside the ragwacht repository, or pass --suite",
    )


def judge_override() -> dict[str, Any] | None:
    """A judge config from the environment, when one is configured."""
    if os.environ.get("RAGWACHT_JUDGE_BASE_URL"):
        return {
            "type": "llm",
            "base_url_env": "RAGWACHT_JUDGE_BASE_URL",
            "model": os.environ.get("RAGWACHT_JUDGE_MODEL", "default"),
            "api_key_env": "RAGWACHT_JUDGE_API_KEY"
            if os.environ.get("RAGWACHT_JUDGE_API_KEY")
            else None,
        }
    if os.environ.get("RAGWACHT_JUDGE_GGUF"):
        return {"type": "local-llm", "gguf_env": "RAGWACHT_JUDGE_GGUF"}
    return None


def run_demo(
    *,
    suite: Path | None = None,
    variant: str | None = None,
    out_dir: Path | None = None,
    lang: str = "nl",
    mlflow: bool = True,
    progress: bool = True,
) -> Any:
    """Serve the demo bot, run the demo suite with offline judges, gate, report; stop the bot."""
    spec = load_suite(suite or find_demo_suite())
    override = judge_override()
    if override is not None and "primary" in spec.judges:
        spec.judges["primary"] = {k: v for k, v in override.items() if v is not None}
    server = BotServer(DemoBot())
    base_url = server.start()
    try:
        return run_suite(
            spec,
            RunOptions(
                variant=variant,
                out_dir=out_dir,
                gate=True,
                mlflow=mlflow,
                lang=lang,
                progress=progress,
                base_url=base_url,
                stable_cache=True,
                # The demo starts its own bot: reruns may reuse its answers (stated in the
                # outputs), where a CI gate against a real endpoint does not by default.
                use_cache=True,
            ),
        )
    finally:
        server.stop()
