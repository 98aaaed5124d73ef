"""Shared test fixtures: paths, telemetry off, offline model loading, free loopback ports."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

for _k, _v in (
    ("RAGAS_DO_NOT_TRACK", "true"),
    ("DEEPEVAL_TELEMETRY_OPT_OUT", "1"),
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
):
    os.environ.setdefault(_k, _v)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RAGWACHT_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = SHARED / "data"
    if not path.is_dir():
        pytest.fail(f"reference data not found at {path}; set RAGWACHT_SHARED to the shared folder")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()
