"""The endpoint calls of a run spread over a Ray cluster (``execution: {engine: ray}``).

The driver (the machine that runs ``ragwacht run``) keeps everything that makes a run
trustworthy: the per-endpoint concurrency limit (so the endpoint never sees more requests in
flight than ``execution.concurrency``, however many machines there are), retries with back-off,
the response cache, the response store that ``--resume`` reads, secret scrubbing and the
record, which only the driver writes. Ray actors (``execution.ray.actors`` of them, spread over
the nodes) hold the real runner and make the calls; each call's result streams back to the
driver as it completes and is stored at once.

A worker that dies loses no finished case: finished responses are already in the driver's
store, the calls it had in flight fail as ``worker_lost`` (retryable), the executor asks them
again, and Ray restarts the actor. Credentials never travel: each actor builds its runner from
its own node's environment (``${env:...}`` in the profile), so the cluster nodes need the same
variables the driver would (a Kubernetes secret, a CI variable).

Ray is an optional extra (``pip install ragwacht[ray]``); the local executor stays the default.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from dataclasses import dataclass
from typing import Any

from ragwacht.errors import ConfigError
from ragwacht.runners.base import AttemptError, CallRequest, CallResult, build_runner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RaySettings:
    """Where the cluster is and how many call actors to start on it."""

    address: str | None = None  # "auto", "127.0.0.1:6379", "ray://host:10001"; None: local
    actors: int = 2
    namespace: str = "ragwacht"


def _ray() -> Any:
    try:
        import ray  # lazy: optional heavy dependency (the ray extra)
    except ImportError:
        raise ConfigError(
            "execution.engine ray needs Ray installed",
            field="execution.engine",
            hint="pip install 'ragwacht[ray]', or use engine: local",
        ) from None
    return ray


class _CallActor:
    """Holds one real runner on a Ray worker and makes calls with it (async, concurrent)."""

    def __init__(self, profile: Any, options: Any) -> None:
        self.runner = build_runner(profile, options)
        self.entered = False

    async def call(self, request: CallRequest) -> tuple[str, Any]:
        if not self.entered:
            await self.runner.__aenter__()
            self.entered = True
        try:
            return "ok", await self.runner.call(request)
        except AttemptError as exc:
            return "error", (exc.kind, exc.message, exc.retryable, exc.retry_after,
                             exc.status_code)  # fmt: skip

    def pid(self) -> int:
        import os  # lazy: only asked for by tests and diagnostics

        return os.getpid()


class RayRunner:
    """A Runner whose calls run on Ray actors (see the module docstring)."""

    def __init__(self, profile: Any, options: Any, settings: RaySettings) -> None:
        self.profile = profile
        self.options = options
        self.settings = settings
        local = build_runner(profile, options)  # for its name and the secrets to scrub
        self.name = local.name
        self.secrets = list(getattr(local, "secrets", None) or ())
        self.actors: list[Any] = []
        self._next: Any = None
        self._started_ray = False

    async def __aenter__(self) -> RayRunner:
        ray = _ray()
        if not ray.is_initialized():
            ray.init(
                address=self.settings.address,
                namespace=self.settings.namespace,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
            self._started_ray = True
        per_actor = max(1, -(-int(self.options.concurrency) // max(1, self.settings.actors)))
        actor_cls = ray.remote(
            num_cpus=0,
            max_restarts=-1,  # a lost worker's actor comes back elsewhere
            max_task_retries=0,  # the executor retries attempts itself, with back-off
            max_concurrency=per_actor,
            scheduling_strategy="SPREAD",
        )(_CallActor)
        self.actors = [
            actor_cls.remote(self.profile, self.options) for _ in range(self.settings.actors)
        ]
        self._next = itertools.cycle(range(len(self.actors)))
        return self

    async def __aexit__(self, *exc: object) -> None:
        ray = _ray()
        for a in self.actors:
            with contextlib.suppress(Exception):  # a dead actor or a closed cluster: done
                ray.kill(a)
        self.actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def actor_pids(self) -> list[int]:
        """The process ids of the call actors (for diagnostics and the fault tests)."""
        ray = _ray()
        return [int(p) for p in ray.get([a.pid.remote() for a in self.actors], timeout=60)]

    async def call(self, request: CallRequest) -> CallResult:
        """One attempt on the next actor; a lost worker is a retryable ``worker_lost``."""
        ray = _ray()
        actor = self.actors[next(self._next)]
        try:
            status, payload = await actor.call.remote(request)
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as exc:
            raise AttemptError(
                "worker_lost",
                f"a Ray worker was lost during the call ({type(exc).__name__})",
                retryable=True,
            ) from None
        except ray.exceptions.RayError as exc:
            raise AttemptError(
                "worker_lost", f"Ray could not run the call: {type(exc).__name__}", retryable=True
            ) from None
        if status == "ok":
            result: CallResult = payload
            return result
        kind, message, retryable, retry_after, status_code = payload
        raise AttemptError(
            kind, message, retryable=retryable, retry_after=retry_after, status_code=status_code
        )


__all__ = ["RayRunner", "RaySettings"]
