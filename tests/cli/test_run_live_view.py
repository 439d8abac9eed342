"""`duroxide run` on a terminal: log lines scroll above the live panel, whole, instead of being
erased by its redraws. The process runs on a pseudo-terminal and what it writes is replayed on
a small screen model (enough of a terminal for what rich's live display sends)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

from .conftest import CLI, Project, _env, duroxide

TRACING_APP = '''

@app.activity("Shout")
async def shout(ctx, x):
    ctx.trace_info(f"shouting {x} above the panel")
    return x


@app.orchestration("Shouter")
def shouter(ctx, x):
    y = yield ctx.schedule_activity("Shout", x)
    return y
'''

_CONTROL = re.compile(r"\x1b\[([?0-9;]*)([A-Za-z])|\r|\n|[^\x1b\r\n]+")


def screen(output: str) -> list[str]:
    """The rows a terminal shows after ``output``: text, CR, LF, cursor up (``ESC[nA``) and
    erase line (``ESC[2K``); colours and cursor visibility change nothing. No line wraps."""
    rows, row, col = [""], 0, 0
    for match in _CONTROL.finditer(output):
        token, code = match.group(0), match.group(2)
        if token == "\r":
            col = 0
        elif token == "\n":
            row += 1
            rows.extend([""] * (row + 1 - len(rows)))
        elif code == "A":
            row = max(row - int(match.group(1) or 1), 0)
        elif code == "K" and match.group(1) == "2":
            rows[row] = ""
        elif code is None:
            line = rows[row].ljust(col)
            rows[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    return rows


def test_a_log_line_stays_whole_above_the_live_panel(project: Project):
    project.app_file.write_text(project.app_file.read_text() + TRACING_APP)
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 300, 0, 0))
    env = {**_env(), "TERM": "xterm"}
    env.pop("NO_COLOR")
    process = subprocess.Popen([*CLI, "run"], cwd=project.root, stdin=terminal, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    received = bytearray()

    def read_until(text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in received and time.monotonic() < deadline:
            if select.select([controller], [], [], 0.05)[0]:
                try:
                    received.extend(os.read(controller, 65536))
                except OSError:  # the process has closed the terminal
                    return

    try:
        read_until("Ctrl-C to stop")
        started = duroxide("start", "Shouter", "--input", "21", "--id", "pty-1", "--wait", cwd=project.root)
        assert started.returncode == 0, started.stderr
        read_until("1 completed")
        read_until("(nothing: a second more of the panel's redraws)", timeout=1.0)
        process.terminate()
        read_until("stopped")
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)

    rows = screen(received.decode(errors="replace"))
    logged = [r for r in rows if "shouting 21 above the panel" in r]
    assert len(logged) == 1, "\n".join(rows)
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d\.\d{3} INFO +duroxide\.activity: shouting 21 above the panel +instance_id=pty-1 .*worker_id=\S+",
        logged[0].rstrip(),
    ), logged[0]
