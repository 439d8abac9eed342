"""Time how long short ``duroxide`` commands take to answer, like ``hyperfine --runs N``.

Usage: ``python benchmarks/cli_startup.py [--runs 10] [--cwd DIR] -- CMD ...`` with one command
per ``--`` group, e.g.::

    python benchmarks/cli_startup.py --cwd /tmp/proj -- duroxide --help -- duroxide list

Prints, per command, the median, best and worst wall time in milliseconds over the runs (after
one warm-up run that is not counted), with stdout and stderr discarded, and the median CPU time
(user + system) of the runs, which neighbours on a busy machine disturb less than wall time.
Run it with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` unset), as an installed package is.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time


def time_command(command: list[str], runs: int, cwd: str | None) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of ``runs`` runs of ``command``, after one uncounted warm-up."""
    times: list[float] = []
    cpu_times: list[float] = []
    for index in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        elapsed = (time.perf_counter() - started) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if index:
            times.append(elapsed)
            cpu_times.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return times, cpu_times


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cwd", default=None)
    parser.add_argument("commands", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    groups: list[list[str]] = []
    for word in args.commands:
        if word == "--":
            groups.append([])
        elif groups:
            groups[-1].append(word)
    for command in (group for group in groups if group):
        times, cpu_times = time_command(command, args.runs, args.cwd)
        print(
            f"{' '.join(command):32s} median {statistics.median(times):6.1f} ms"
            f"  best {min(times):6.1f}  worst {max(times):6.1f}  cpu median {statistics.median(cpu_times):6.1f}  ({args.runs} runs)"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
