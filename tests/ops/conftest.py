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


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def settings_of(env: dict[str, str], *names: str) -> dict:
    """The named settings as a fresh process loads them from `env` (JSON-able values only)."""
    code = (
        "import json, django; from django.conf import settings; "
        "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shiftdesk.settings'); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def fernet_key() -> str:
    return Fernet.generate_key().decode()
