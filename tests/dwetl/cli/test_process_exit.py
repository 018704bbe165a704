"""A `dwetl` process ends without the interpreter's teardown, but only once its work is done:
its exit status is the command's, what it printed and logged is out, its atexit handlers ran,
and a thread still working is waited for."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_printed_logged_and_registered_work_is_finished(tmp_path):
    done = _python(
        """
        import atexit, logging, sys
        from dwetl.cli.process_exit import leave
        logging.basicConfig(filename="run.log", level=logging.INFO)
        logging.getLogger("dwetl").info("last line of the log")
        atexit.register(lambda: open("atexit.txt", "w").write("ran"))
        print("no newline yet", end="")
        print("to stderr", end="", file=sys.stderr)
        leave(None)
        """,
        tmp_path,
    )
    assert done.returncode == 0
    assert done.stdout == "no newline yet" and done.stderr == "to stderr"
    assert "last line of the log" in (tmp_path / "run.log").read_text()
    assert (tmp_path / "atexit.txt").read_text() == "ran"


def test_a_working_thread_is_waited_for_and_the_status_kept(tmp_path):
    done = _python(
        """
        import threading, time
        from dwetl.cli.process_exit import leave
        def work():
            time.sleep(0.5)
            open("thread.txt", "w").write("finished")
        threading.Thread(target=work).start()
        leave(3)
        """,
        tmp_path,
    )
    assert done.returncode == 3, done.stderr
    assert (tmp_path / "thread.txt").read_text() == "finished"


def test_a_daemon_thread_does_not_hold_the_process_and_a_message_is_status_1(tmp_path):
    done = _python(
        """
        import threading, time
        from dwetl.cli.process_exit import leave
        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
        leave("stopped: the reason")
        """,
        tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "stopped: the reason"
