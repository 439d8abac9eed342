"""How much memory one ``duroxide run`` process holds for N instances waiting on an event.

Usage: ``python benchmarks/memory_waiting.py [-n 10000] [--store-dir DIR]``. It writes a small
project (an app whose orchestration waits for an event) into a temporary directory, starts
``duroxide run`` there, starts N instances through the public Client, waits until every one
has subscribed to its event and the runtime is idle, and prints the run process's resident
memory (VmRSS and VmHWM from /proc) before and after, then raises the events and waits for
the instances to complete. Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from duroxide_cli import Client, open_provider

APP = textwrap.dedent(
    '''
    from duroxide_cli import Registry

    app = Registry()


    @app.orchestration("Waiter")
    def waiter(ctx, n):
        data = yield ctx.wait_for_event("Go")
        return data
    '''
)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of ``pid``, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


async def wait_until(client: Client, predicate_status: str, count: int, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        metrics = await client.get_system_metrics()
        depths = await client.get_queue_depths()
        if metrics.by_status.get(predicate_status, 0) >= count and depths.orchestrator == 0:
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    raise TimeoutError(f"fewer than {count} instances {predicate_status} after {timeout_s} s")


async def measure(n: int, root: Path) -> None:
    (root / "app.py").write_text(APP)
    store = f"sqlite:///{root / 'store.db'}"
    (root / "duroxide.toml").write_text(f'[app]\nmodule = "app.py"\n[store]\nurl = "{store}"\n')
    env = {**os.environ, "DUROXIDE_LOG": "warn"}
    run = subprocess.Popen([sys.executable, "-m", "duroxide_cli.cli.app", "run"], cwd=root, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await asyncio.sleep(3)
        idle = memory_kib(run.pid)
        provider = await open_provider(store)
        client = Client(provider)
        started = time.monotonic()
        await asyncio.gather(*(client.start_orchestration(f"w-{i}", "Waiter", i) for i in range(n)))
        waited = await wait_until(client, "Running", n, 600)
        await asyncio.sleep(2)
        waiting = memory_kib(run.pid)
        print(f"{n} instances started and waiting after {time.monotonic() - started:.1f} s (runtime idle after {waited:.1f} s)")
        print(f"duroxide run RSS: idle {idle['VmRSS'] / 1024:.0f} MiB; with {n} waiting {waiting['VmRSS'] / 1024:.0f} MiB"
              f" (peak {waiting['VmHWM'] / 1024:.0f} MiB)")
        await asyncio.gather(*(client.raise_event(f"w-{i}", "Go", i) for i in range(n)))
        await wait_until(client, "Completed", n, 600)
        done = memory_kib(run.pid)
        print(f"after all completed: RSS {done['VmRSS'] / 1024:.0f} MiB (peak {done['VmHWM'] / 1024:.0f} MiB)")
        await provider.close()
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--store-dir", default=None, help="Where to make the project (default: a temporary directory).")
    args = parser.parse_args()
    if args.store_dir:
        asyncio.run(measure(args.n, Path(args.store_dir)))
        return
    with tempfile.TemporaryDirectory(prefix="duroxide-memory-") as root:
        asyncio.run(measure(args.n, Path(root)))


if __name__ == "__main__":
    main()
