"""SQL statements and process CPU per unit of one ``duroxide bench`` workload, in process.

    python benchmarks/statements_per_unit.py hello 2000 [--store URL] [--top 30]

Prints one JSON line (rate, process CPU and the database threads' CPU per unit, statements per unit), then the most frequent
statements per unit, their literals folded to S and N. Statements are counted on every SQLite
connection the run opens (``set_trace_callback``, which costs CPU of its own: compare CPU
without ``--count``). A 50-unit run goes first and is not counted. Run from a directory without
a duroxide.toml; put an old tree first on PYTHONPATH to measure it. ``bench`` reads every
instance once after the clock stops (``hello``, ``backlog``): three statements per instance here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import time
from collections import Counter

from database_cpu import SPENT

from duroxide_cli.bench.stores import BenchStore
from duroxide_cli.bench.workloads import WORKLOADS, run_workload

_counts: Counter[str] = Counter()
_counting = False
_connect = sqlite3.connect


def _fold(sql: str) -> str:
    text = re.sub(r"\s+", " ", sql.strip())
    text = re.sub(r"'[^']*'", "S", text)
    return re.sub(r"-?\b\d+\b", "N", text)[:110]


def _counted_connect(*args, **kwargs):  # noqa: ANN002, ANN003 - sqlite3.connect's own signature
    conn = _connect(*args, **kwargs)
    conn.set_trace_callback(lambda sql: _counting and _counts.update((_fold(sql),)))
    return conn


async def main(workload: str, n: int, store: str | None, count: bool, top: int) -> None:
    global _counting
    if count:
        sqlite3.connect = _counted_connect
    bench_store = BenchStore(store)
    await run_workload(WORKLOADS[workload], 5 if workload == "backlog" else 50, bench_store)
    _counting = True
    SPENT[0] = 0.0
    cpu = time.process_time()
    result = await run_workload(WORKLOADS[workload], n, bench_store)
    cpu = time.process_time() - cpu
    _counting = False
    line = {"workload": workload, "n": result.n, "rate": result.rate, "cpu_us_per_unit": round(cpu / result.n * 1e6),
            "db_thread_cpu_us_per_unit": round(SPENT[0] / result.n * 1e6)}
    if count:
        line["statements_per_unit"] = round(sum(_counts.values()) / result.n, 2)
    print(json.dumps(line))
    for statement, times in _counts.most_common(top):
        print(f"{times / result.n:8.3f}  {statement}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("n", type=int)
    parser.add_argument("--store", default=None)
    parser.add_argument("--no-count", dest="count", action="store_false", help="CPU only, no statement tracing")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.workload, args.n, args.store, args.count, args.top))
