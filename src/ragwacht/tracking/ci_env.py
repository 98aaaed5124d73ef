"""Read the CI context (commit, branch, PR/MR, job URL) from GitHub Actions or GitLab CI."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path


def _git(*args: str, cwd: str | Path | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=5, check=False, cwd=cwd
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def ci_context(
    env: Mapping[str, str] | None = None, *, use_git: bool = True, cwd: str | Path | None = None
) -> dict[str, str]:
    """The CI facts a run should carry.

    Keys (absent when unknown): ``provider``, ``git_sha``, ``branch``, ``base_branch``, ``pr``
    and ``ci_url``.
    """
    e = os.environ if env is None else env
    ctx: dict[str, str] = {}
    if e.get("GITHUB_ACTIONS") == "true" or "GITHUB_SHA" in e:
        ctx["provider"] = "github"
        ctx["git_sha"] = e.get("GITHUB_SHA", "")
        ctx["branch"] = e.get("GITHUB_HEAD_REF") or e.get("GITHUB_REF_NAME", "")
        ctx["base_branch"] = e.get("GITHUB_BASE_REF", "")
        m = re.match(r"refs/pull/(\d+)/", e.get("GITHUB_REF", ""))
        if m:
            ctx["pr"] = m.group(1)
        if e.get("GITHUB_SERVER_URL") and e.get("GITHUB_REPOSITORY") and e.get("GITHUB_RUN_ID"):
            ctx["ci_url"] = (
                f"{e['GITHUB_SERVER_URL']}/{e['GITHUB_REPOSITORY']}/actions/runs/{e['GITHUB_RUN_ID']}"
            )
    elif e.get("GITLAB_CI") == "true" or "CI_COMMIT_SHA" in e:
        ctx["provider"] = "gitlab"
        ctx["git_sha"] = e.get("CI_COMMIT_SHA", "")
        ctx["branch"] = e.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or e.get(
            "CI_COMMIT_REF_NAME", ""
        )
        ctx["base_branch"] = e.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") or e.get(
            "CI_DEFAULT_BRANCH", ""
        )
        if e.get("CI_MERGE_REQUEST_IID"):
            ctx["pr"] = e["CI_MERGE_REQUEST_IID"]
        if e.get("CI_JOB_URL"):
            ctx["ci_url"] = e["CI_JOB_URL"]
    if use_git:
        if not ctx.get("git_sha"):
            sha = _git("rev-parse", "HEAD", cwd=cwd)
            if sha:
                ctx["git_sha"] = sha
        if not ctx.get("branch"):
            branch = _git("rev-parse", "--abbrev-ref", "HEAD", cwd=cwd)
            if branch and branch != "HEAD":
                ctx["branch"] = branch
    return {k: v for k, v in ctx.items() if v}
