"""How close the runner gets to the I/O limit, and whether its memory stays flat.

A loopback endpoint answers every request after a fixed latency (asyncio, keep-alive, its own
process; ``--jitter 0.2`` makes it vary by +-20% around that, as real endpoints do). The
runner calls it for N cases at concurrency C; the best possible wall time is N x latency / C.
Reported: wall time, that limit, ratio = limit / wall (1.0 is perfect; the target is >= 0.9),
the client's CPU time per case (what the ratio depends on when the machine is shared), peak
RSS, and RSS after 1,000 and after 10,000 cases with the size of the responses kept, so growth
beyond the stored responses shows.

The endpoint runs on the last CPU and the client on the others (``--no-pin`` lets them share):
on a small machine the scheduler otherwise moves both between the same cores, which costs the
client several percent that a real endpoint on its own machine would not.

For scale it also times a bare aiohttp client (no templates, mapping, retries or records) on
the same endpoint: what the transport, the endpoint and the shared cores allow at best. The
runner's own cost is the gap between the two.

    python benchmarks/runner_overhead.py [--cases 1000] [--big 10000] [--latency 0.05] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any

ANSWER = json.dumps(
    {
        "answer": "De WOZ-waarde is de waarde die de gemeente aan een woning toekent.",
        "sources": [
            {"doc_id": f"doc-{i}", "text": "passage " * 20, "score": 1.0 - i / 10, "rank": i + 1}
            for i in range(3)
        ],
        "usage": {"prompt_tokens": 300, "completion_tokens": 40, "total_tokens": 340},
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(ANSWER)).encode()
    + b"\r\n\r\n"
    + ANSWER
)


def serve(
    port: int, latency: float, ready: Any, jitter: float = 0.0, cpus: set[int] | None = None
) -> None:
    import random

    if cpus:
        os.sched_setaffinity(0, cpus)
    rng = random.Random(0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:].strip())
                if length:
                    await reader.readexactly(length)
                # Fixed latency keeps all requests in lock-step waves, so the client's CPU per
                # case delays a whole wave; real endpoints vary (--jitter), which breaks them up.
                await asyncio.sleep(latency * (1 + jitter * (2 * rng.random() - 1)))
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run(n: int, url: str, concurrency: int) -> tuple[float, float, list]:
    from ragwacht.datasets.models import GoldenCase
    from ragwacht.runners import ExecOptions, profile_from_dict, run_cases_sync

    prof = profile_from_dict(
        {
            "type": "http",
            "url": url,
            "response": {
                "answer": "$.answer",
                "contexts": "$.sources[*]",
                "usage": {"prompt_tokens": "$.usage.prompt_tokens"},
            },
        }
    )
    cases = [GoldenCase(id=f"c{i}", question=f"Wat is de WOZ-waarde? ({i})") for i in range(n)]
    opts = ExecOptions(concurrency=concurrency, attempt_timeout_s=30, max_retries=0)
    t0, c0 = time.perf_counter(), cpu_s()
    responses = run_cases_sync(prof, cases, options=opts, progress=False)
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    bad = [r for r in responses if not r.ok]
    if bad:
        raise SystemExit(f"{len(bad)} failed responses, e.g. {bad[0].error}")
    return wall, cpu, responses


def bare(n: int, url: str, concurrency: int) -> float:
    """Wall time of a bare aiohttp client making the same n requests at the same concurrency."""
    import aiohttp

    async def go() -> float:
        sem = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency)
        ) as session:

            async def one(i: int) -> Any:
                body = json.dumps({"question": f"Wat is de WOZ-waarde? ({i})"}).encode()
                async with (
                    sem,
                    session.post(url, data=body, headers={"Content-Type": "application/json"}) as r,
                ):
                    return json.loads(await r.read())

            await asyncio.gather(*(one(i) for i in range(min(n, 50))))  # connections
            t0 = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            return time.perf_counter() - t0

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--big", type=int, default=10000)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument(
        "--jitter", type=float, default=0.0, help="latency varies uniformly by +- this fraction"
    )
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3, help="runs of the first size (median shown)")
    ap.add_argument(
        "--no-pin",
        action="store_true",
        help="let the endpoint and the client share every CPU (default: the endpoint gets the "
        "last CPU to itself, as a remote endpoint has its own machine)",
    )
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    pin = not args.no_pin and len(cpus) >= 2
    server_cpus = {cpus[-1]} if pin else None

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ready = mp.Event()
    server = mp.Process(
        target=serve, args=(port, args.latency, ready, args.jitter, server_cpus), daemon=True
    )
    server.start()
    ready.wait(10)
    if pin:
        os.sched_setaffinity(0, set(cpus[:-1]))
    url = f"http://127.0.0.1:{port}/chat"
    placement = (
        f"endpoint on CPU {cpus[-1]}, client on CPU {','.join(map(str, cpus[:-1]))}"
        if pin
        else "endpoint and client share the CPUs"
    )
    print(f"load average before: {os.getloadavg()[0]:.1f} on {len(cpus)} CPUs; {placement}")
    try:
        run(50, url, args.concurrency)  # warm up imports and connections
        base = rss_mib()
        for n in (args.cases, args.big):
            if n <= 0:
                continue
            limit = n * args.latency / args.concurrency
            reps = max(1, args.repeat) if n == args.cases else 1
            ratios = []
            for _ in range(reps):
                wall, cpu, responses = run(n, url, args.concurrency)
                ratios.append(limit / wall)
                kept = sum(len(r.model_dump_json()) for r in responses) / 2**20
                print(
                    f"cases={n:>6} concurrency={args.concurrency} "
                    f"latency={args.latency * 1000:.0f}ms+-{args.jitter:.0%}"
                    f"  wall={wall:.2f}s  io_limit={limit:.2f}s"
                    f"  ratio={limit / wall:.3f}  client_cpu={cpu * 1000 / n:.2f}ms/case"
                    f"  rss={rss_mib():.0f}MiB (+{rss_mib() - base:.0f} over warm-up)"
                    f"  peak_rss={peak_rss_mib():.0f}MiB  responses_json={kept:.1f}MiB",
                    flush=True,
                )
                del responses
            floors = [limit / bare(n, url, args.concurrency) for _ in range(reps)]
            print(
                f"cases={n:>6}  ragwacht median ratio {sorted(ratios)[len(ratios) // 2]:.3f}  |  "
                f"bare aiohttp client median ratio {sorted(floors)[len(floors) // 2]:.3f} "
                "(the transport, endpoint and shared cores at best)",
                flush=True,
            )
    finally:
        server.terminate()
        server.join(5)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
