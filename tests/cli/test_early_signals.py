"""Ctrl-C or SIGTERM while a command is still starting ends it quietly: 130 or 143, no traceback.

The real ``duroxide`` console script, started under ``-X importtime`` so the test knows when the
process has reached duroxide's own code (a signal before that lands in the interpreter's start-up,
which no program can handle), then signalled after a range of delays.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .conftest import Project, _env, duroxide

_SCRIPT = shutil.which("duroxide", path=str(Path(sys.executable).parent))
_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _signalled(project: Project, args: list[str], sig: signal.Signals, delay_s: float) -> tuple[int, str]:
    assert _SCRIPT is not None, "the duroxide console script is not installed next to this Python"
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", _SCRIPT, *args],
        cwd=project.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(),
    )
    assert process.stderr is not None
    lines: list[str] = []
    reached = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "duroxide_cli.cli.entry" in line:
                reached.set()
        reached.set()

    reader = threading.Thread(target=drain)
    reader.start()
    assert reached.wait(30), "the process never imported duroxide_cli.cli.entry"
    time.sleep(delay_s)
    if process.poll() is None:
        process.send_signal(sig)
    code = process.wait(timeout=30)
    reader.join(timeout=30)
    process.stderr.close()
    return code, "".join(line for line in lines if not line.startswith("import time:"))


@pytest.mark.parametrize("args", [["list"], ["--help"]], ids=["list", "help"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_in_the_first_half_second_exits_quietly_with_the_shells_code(project: Project, args, sig):
    assert duroxide("start", "Doubler", "--id", "one", cwd=project.root).returncode == 0
    interrupted = 0
    for delay_s in (0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4):
        code, stderr = _signalled(project, args, sig, delay_s)
        assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, (delay_s, stderr)
        # 0: it finished first; -sig: the signal came as the interpreter shut down, and ended it
        # the default way (a shell reports that as 130 or 143 too)
        assert code in (_CODES[sig], 0, -sig), (delay_s, code, stderr)
        interrupted += code == _CODES[sig]
    assert interrupted >= 2  # most delays land while the command is still starting


def test_a_signal_that_lands_in_a_finalizer_still_ends_the_process_quietly():
    # Python cannot raise out of a finalizer: it prints "Exception ignored ... Traceback" and goes
    # on. The exit a signal asked for must end the process there, with the signal's code.
    code = (
        "import os, signal\n"
        "import duroxide_cli.cli.entry\n"
        "class Finalized:\n"
        "    def __del__(self):\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        for _ in range(10**7):\n"
        "            pass\n"
        "Finalized()\n"
        "print('carried on')\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 130, ran
    assert "Traceback" not in ran.stderr and "carried on" not in ran.stdout, ran
