"""CPU per ``hello`` instance (or per unit of another workload, ``-w``), in process: what each thread spent, what the garbage
took, and how many asyncio tasks, futures and thread wake-ups each instance cost.

    python benchmarks/hello_cpu.py [-n 2000] [--count] [-w WORKLOAD] [--store URL]

Prints one JSON line. Run from a directory without a duroxide.toml; put an old tree first on
PYTHONPATH to measure it (alternate old and new: the machine is shared). A 50-instance run goes
first so that imports and first-use costs are not counted. ``--count`` wraps the loop's
``create_task``, ``create_future`` and ``call_soon_threadsafe`` (which costs a little CPU).
Thread CPU comes from /proc (Linux), sampled every 20 ms, so threads that end are still counted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import threading
import time
from collections import Counter

from duroxide_cli.bench.stores import BenchStore
from duroxide_cli.bench.workloads import WORKLOADS, run_workload

_TICK = os.sysconf("SC_CLK_TCK")


class ThreadCpu:
    """CPU seconds per thread name, from /proc/self/task, sampled until ``stop``."""

    def __init__(self) -> None:
        self.seconds: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self._stopped = False
        threading.Thread(target=self._sample, daemon=True, name="sampler").start()

    def _sample(self) -> None:
        while not self._stopped:
            self.read()
            time.sleep(0.02)

    def read(self) -> None:
        for thread in threading.enumerate():
            if thread.native_id is not None:
                self.names[thread.native_id] = thread.name.split("_")[0]
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as stat:
                    fields = stat.read().rpartition(")")[2].split()
            except OSError:
                continue
            self.seconds[int(tid)] = (int(fields[11]) + int(fields[12])) / _TICK

    def stop(self) -> dict[str, float]:
        self._stopped = True
        self.read()
        by_name: Counter[str] = Counter()
        for tid, seconds in self.seconds.items():
            by_name[self.names.get(tid, "other")] += seconds
        return dict(by_name)


class CollectorTime:
    """Wall time spent in the garbage collector, and collections, per generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            generation = info["generation"]
            self.seconds[generation] += time.perf_counter() - self._began
            self.count[generation] += 1


async def main(n: int, count: bool, workload: str = "hello", url: str | None = None) -> dict:
    store = BenchStore.from_url(url)
    await run_workload(WORKLOADS[workload], 50, store)
    counts: Counter[str] = Counter()
    if count:
        loop = asyncio.get_running_loop()
        for method in ("create_task", "create_future", "call_soon_threadsafe"):
            original = getattr(loop, method)

            def counted(*args, _original=original, _method=method, **kwargs):
                counts[_method] += 1
                return _original(*args, **kwargs)

            setattr(loop, method, counted)
    threads_before = ThreadCpu().stop()
    threads = ThreadCpu()
    collector = CollectorTime()
    cpu, wall = time.process_time(), time.perf_counter()
    result = await run_workload(WORKLOADS[workload], n, store)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    per_thread = threads.stop()
    gc.callbacks.remove(collector._callback)
    line = {
        "workload": f"{workload}-in-process",
        "n": n,
        "rate": result.rate,
        "cpu_us_per_instance": round(cpu / n * 1e6),
        "wall_s": round(wall, 3),
        "thread_cpu_us_per_instance": {
            name: round((seconds - threads_before.get(name, 0.0)) / n * 1e6)
            for name, seconds in per_thread.items() if name != "sampler"
        },
        "gc_ms": [round(s * 1000) for s in collector.seconds],
        "gc_collections": collector.count,
    }
    if count:
        line["per_instance"] = {name: round(c / n, 2) for name, c in counts.items()}
    return line


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--count", action="store_true", help="count tasks, futures and thread wake-ups")
    parser.add_argument("-w", "--workload", default="hello", choices=sorted(WORKLOADS), help="a workload of duroxide bench (per unit: its unit)")
    parser.add_argument("--store", default=None, help="a store URL as duroxide bench takes it (default: a temporary SQLite file)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.n, args.count, args.workload, args.store))))
