"""Are two ``duroxide run`` processes on one PostgreSQL store faster than one, on ``hello``?

Usage::

    python benchmarks/two_processes.py [--url postgresql://postgres@127.0.0.1:5432/test]
        [-n 2000] [--processes 1,2] [--rounds 3] [--output results.jsonl]

Each measurement makes a fresh schema (``duroxide_bench_<pid>_<random>``) in the database the URL
names, starts the given number of ``duroxide run`` processes on it (real subprocesses, serving the
bench app that ships in the package: ``duroxide_cli.bench.app:bench_app``), waits until every one
has registered as a live runtime, starts n ``Hello`` instances at once through the public Client,
and measures, as ``duroxide bench`` does, from the first instance's creation to the last one's
completion by the store's own timestamps. Then it stops the processes (SIGTERM) and drops the
schema, also when a measurement fails or is interrupted. The process counts alternate within each
round, so a neighbour's load falls on both alike.

Each measurement prints one JSON line ``{"processes", "round", "n", "seconds", "rate", "p50_ms",
"p99_ms", "store"}``, and at the end the ratio of the best rates (and of each round's rates) of
the largest count to one process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from duroxide_cli import Client
from duroxide_cli.bench import percentile
from duroxide_cli.providers.postgres import PostgresProvider

APP = "duroxide_cli.bench.app:bench_app"
READY_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 300.0


def schema_url(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


async def measure(url: str, processes: int, n: int, workdir: Path) -> dict[str, float]:
    """One measurement on a fresh schema; the schema is dropped on the way out."""
    schema = f"duroxide_bench_{os.getpid()}_{secrets.token_hex(4)}"
    provider = await PostgresProvider.connect(url, schema=schema)
    runs: list[subprocess.Popen[bytes]] = []
    try:
        client = Client(provider)
        env = {**os.environ, "DUROXIDE_LOG": "warn"}
        for index in range(processes):
            log = (workdir / f"run-{schema}-{index}.log").open("wb")
            runs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "duroxide_cli.cli.app", "run", APP, "--store", schema_url(url, schema)],
                    cwd=workdir, stdout=log, stderr=log, env=env,
                )
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while len(await client.list_runtimes()) < processes:
            if time.monotonic() > deadline or any(run.poll() is not None for run in runs):
                raise RuntimeError(f"the duroxide run processes did not all start; see {workdir}")
            await asyncio.sleep(0.05)
        ids = [f"hello-{i}" for i in range(n)]
        await asyncio.gather(*(client.start_orchestration(iid, "Hello", iid) for iid in ids))
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while True:
            metrics = await client.get_system_metrics()
            if metrics.by_status.get("Completed", 0) + metrics.by_status.get("Failed", 0) >= n:
                break
            if time.monotonic() > deadline or any(run.poll() is not None for run in runs):
                raise RuntimeError(f"the instances did not finish; see {workdir}")
            await asyncio.sleep(0.02)
        states = await client.list_instances(limit=n)
        failed = [s.instance_id for s in states if s.status != "Completed"]
        if failed:
            raise RuntimeError(f"{len(failed)} instances did not complete, e.g. {failed[0]}")
        first_start = min(s.created_at_ms for s in states)
        last_completion = max(s.updated_at_ms for s in states)
        seconds = max(last_completion - first_start, 1) / 1000
        latencies = [float(s.updated_at_ms - s.created_at_ms) for s in states]
        return {
            "seconds": round(seconds, 3),
            "rate": round(n / seconds, 1),
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99),
        }
    finally:
        for run in runs:
            if run.poll() is None:
                run.send_signal(signal.SIGTERM)
        for run in runs:
            try:
                run.wait(timeout=30)
            except subprocess.TimeoutExpired:
                run.kill()
                run.wait()
        await provider.close()
        await PostgresProvider.drop_schema(url, schema)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test", help="the database (no ?schema=)")
    parser.add_argument("-n", type=int, default=2000, help="hello instances per measurement")
    parser.add_argument("--processes", default="1,2", help="process counts to alternate, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, help="also append the JSON lines to this file")
    args = parser.parse_args()
    counts = [int(c) for c in args.processes.split(",")]
    rates: dict[int, list[float]] = {c: [] for c in counts}
    with tempfile.TemporaryDirectory(prefix="duroxide-two-processes-") as workdir:
        for round_number in range(1, args.rounds + 1):
            for processes in counts:
                figures = await measure(args.url, processes, args.n, Path(workdir))
                record = {"processes": processes, "round": round_number, "n": args.n, **figures, "store": "postgresql"}
                line = json.dumps(record)
                print(line, flush=True)
                if args.output is not None:
                    with args.output.open("a") as out:
                        out.write(line + "\n")
                rates[processes].append(figures["rate"])
    one, most = min(counts), max(counts)
    if one != most:
        best = max(rates[most]) / max(rates[one])
        per_round = [round(b / a, 2) for a, b in zip(rates[one], rates[most], strict=True)]
        print(f"{most} processes / {one}: best rate {max(rates[most])} / {max(rates[one])} = {best:.2f}; per round {per_round}")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
