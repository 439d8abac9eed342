"""Time how long short ``duroxide`` commands take to answer, like ``hyperfine --runs N``.

Usage: ``python benchmarks/cli_startup.py [--runs 10] [--cwd DIR] -- CMD ...`` with one command
per ``--`` group, e.g.::

    python benchmarks/cli_startup.py --cwd /tmp/proj -- duroxide --help -- duroxide list

Prints, per command, the median, best and worst wall time in milliseconds over the runs (after
one warm-up run that is not counted), with stdout and stderr discarded, and the median CPU time
(user + system) of the runs, which neighbours on a busy machine disturb less than wall time.
Run it with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` unset), as an installed package is.

``--instructions`` counts instead the instructions each command executes in user space, once,
under valgrind's callgrind (``PYTHONHASHSEED=0``): the same count on a quiet or a busy machine,
for comparing two versions of the code while neighbours run. (On this project's machine a
million instructions took about 0.3 ms of a short command's wall time when it was quiet.)
stdout is a pipe here, as with ``> /dev/null``: ``status`` and ``list`` then write plain lines
and do not import rich, which they need on a terminal. An editable install (``pip install -e``)
starts every interpreter with setuptools' import finder, which makes ``python -c pass`` cost
twice as much, but the commands cost the same as from an installed wheel: they import what the
finder imports anyway.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
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


def instructions(command: list[str], cwd: str | None) -> float:
    """Millions of user-space instructions ``command`` executes, counted by callgrind."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "callgrind.out")
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # warm-up
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )
        with open(out) as profile:
            totals = next(line for line in profile if re.match(r"(summary|totals):", line))
    return int(totals.split()[1]) / 1e6


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cwd", default=None)
    parser.add_argument("--instructions", action="store_true", help="count instructions under callgrind instead of timing")
    parser.add_argument("commands", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    groups: list[list[str]] = []
    for word in args.commands:
        if word == "--":
            groups.append([])
        elif groups:
            groups[-1].append(word)
    for command in (group for group in groups if group):
        if args.instructions:
            print(f"{' '.join(command):32s} {instructions(command, args.cwd):8.1f} M instructions")
            continue
        times, cpu_times = time_command(command, args.runs, args.cwd)
        print(
            f"{' '.join(command):32s} median {statistics.median(times):6.1f} ms"
            f"  best {min(times):6.1f}  worst {max(times):6.1f}  cpu median {statistics.median(cpu_times):6.1f}  ({args.runs} runs)"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
