"""Fixtures for tests/ops: a ShiftDesk process started with exactly the environment a test names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET_KEY = "x9!Qm#2rT$7vLp@4Zs^8Kd&1Wn*6Hb(3Jf)5Gc-0Yt=Ue+Ra_Oi%Xq"  # 55 characters, many distinct


def clean_env(**overrides: str) -> dict[str, str]:
    """os.environ without any ShiftDesk/Django setting (so defaults show), plus `overrides`."""
    names = (
        "DEBUG", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "SHIFTDESK_ENCRYPTION_KEYS", "ALLOWED_HOSTS",
        "SHIFTDESK_PUBLIC_URL", "SECURE_", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE",
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    env.update(PYTHONPATH=str(ROOT), **overrides)
    return env


def production_env(**overrides: str) -> dict[str, str]:
    return clean_env(
        SECRET_KEY=STRONG_SECRET_KEY, SHIFTDESK_ENCRYPTION_KEYS=Fernet.generate_key().decode(), **overrides
    )


# --- a fork server for the short ShiftDesk processes these tests start ------------------------------------------
# Each `manage.py check` or `python -c` started here used to import Django and the libraries ShiftDesk uses
# afresh: ~1 s of CPU each, most of it exchangelib, icalendar, msal and Django's own modules. A helper process
# imports those libraries once (nothing of ShiftDesk, and no settings) and forks one child per command; the
# child takes the command's environment, working directory and arguments and runs the script or code as
# `python` would, then exits with its status (~0.3 s of CPU). ShiftDesk's settings (read from the environment
# when shiftdesk.settings is imported), its apps, system checks and WSGI module all load in the child, from
# scratch, as in a process an operator starts.

PRELOAD = (
    "exchangelib", "icalendar", "msal", "httpx", "requests", "cryptography.fernet", "dj_database_url",
    "django.core.management", "django.urls", "django.template", "django.db.models", "django.forms",
)  # fmt: skip

FORK_SERVER = r"""
import json, os, runpy, sys, traceback

for name in sys.argv[1:]:
    try:
        __import__(name)
    except Exception:
        pass  # the child imports it itself, as any process would
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
        continue
    code = 1
    try:
        os.chdir(job["cwd"])
        os.environ.clear()
        os.environ.update(job["env"])
        for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
            opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        sys.stdin = open(os.devnull)
        argv = job["argv"]
        if argv[0] == "-c":
            sys.argv, sys.path[0] = ["-c", *argv[2:]], ""
            exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        else:
            sys.argv, sys.path[0] = argv, os.path.dirname(os.path.abspath(argv[0]))
            runpy.run_path(argv[0], run_name="__main__")
        code = 0
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            code = exit.code or 0
        else:
            print(exit.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
"""


class ForkServer:
    """The helper process above; `run` is subprocess.run(argv, cwd=ROOT, env=env, capture_output=True,
    text=True, timeout=timeout) for `python ARGV...`."""

    def __init__(self) -> None:
        self.pythonpath = str(ROOT)
        self.process = subprocess.Popen(
            [sys.executable, "-c", FORK_SERVER, *PRELOAD], cwd=ROOT, env=clean_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip

    def run(self, argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
        import select
        import signal
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
            job = {"argv": argv, "env": env, "cwd": str(ROOT), "stdout": str(out), "stderr": str(err)}
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
            if not select.select([self.process.stdout], [], [], timeout)[0]:
                os.killpg(self.process.pid, signal.SIGKILL)  # the helper and the child that hangs
                self.process.wait()
                raise subprocess.TimeoutExpired([sys.executable, *argv], timeout)
            code = int(self.process.stdout.readline())
            return subprocess.CompletedProcess(
                [sys.executable, *argv], code, out.read_text(), err.read_text()
            )

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


_fork_server: ForkServer | None = None


def python(env: dict[str, str], *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python ARGV...` with exactly `env`, in the repository, its output captured: through the fork server when
    the environment's PYTHONPATH is the one it was started with (every caller here), else a plain subprocess."""
    global _fork_server
    if env.get("PYTHONPATH") != str(ROOT) or not hasattr(os, "fork"):
        return subprocess.run(
            [sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
    if _fork_server is None or _fork_server.process.poll() is not None:
        _fork_server = ForkServer()
    return _fork_server.run(list(argv), env, timeout)


@pytest.fixture(autouse=True, scope="session")
def fork_server_stopped_at_the_end():
    yield
    if _fork_server is not None and _fork_server.process.poll() is None:
        _fork_server.close()


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return python(env, "manage.py", *args, timeout=120)


def settings_of(env: dict[str, str], *names: str) -> dict:
    """The named settings as a fresh process loads them from `env` (JSON-able values only)."""
    code = (
        "import json, django; from django.conf import settings; "
        "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shiftdesk.settings'); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    done = python(env, "-c", code, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def fernet_key() -> str:
    return Fernet.generate_key().decode()
