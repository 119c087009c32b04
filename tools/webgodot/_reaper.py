"""Run a command (Chromium) so that it and every process it starts end together, leaving nothing.

    python _reaper.py COMMAND [ARGS...]

Chromium starts a dozen helpers (zygotes, renderers, GPU and utility processes), some of which
outlive their parents for a moment. This small process sits between the caller and Chromium:

* it is a child subreaper (Linux PR_SET_CHILD_SUBREAPER), so every orphaned helper is re-parented
  to it instead of to init, which on some machines reaps zombies only every few seconds;
* it starts the command in a process group of its own and prints the command's pid;
* when its stdin reaches EOF (the caller closed the pipe, or died: the kernel closes the pipe
  either way), on SIGTERM/SIGINT/SIGHUP, or when the command exits by itself, it SIGKILLs that
  group and then every child it still has, and reaps them all before it exits.

So the caller only ever has one child (this one) to wait for, and a crashed or killed test run
still leaves no Chromium behind. Standard library only; run as a script, not imported.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: orphans go to init, which reaps them later
        pass


def _children() -> list[int]:
    """Pids of this process's children (orphans re-parented here included), read from /proc."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                # the command name may contain spaces and parentheses: split after the last ')'
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            found.append(int(entry))
    return found


def _kill_everything(group: int) -> None:
    """SIGKILL the command's group and every remaining child, and reap until none is left."""
    while True:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in _children():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return  # no child is left: every helper is gone and reaped


def _watch(command_pid: int) -> None:
    """Return once stdin closes or the command has exited, reaping orphans meanwhile."""
    while True:
        readable, _, _ = select.select([sys.stdin.fileno()], [], [], 0.25)
        if readable and not os.read(sys.stdin.fileno(), 4096):
            return
        try:
            while True:
                pid, _status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                if pid == command_pid:
                    return
        except ChildProcessError:
            return


def _stop(_signum: int, _frame: object) -> None:
    raise SystemExit(0)  # unwinds into main's finally, which kills and reaps everything


def main(command: list[str]) -> None:
    _become_subreaper()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop)
    child = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, process_group=0
    )
    try:
        print(child.pid, flush=True)
        _watch(child.pid)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the cleanup short
        _kill_everything(child.pid)
        child.returncode = 0  # reaped above; stops Popen from warning that it still runs


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
