"""Bugsink, installed from PyPI into a virtualenv of its own, for the same load as Vedette.

    uv run python bench/bugsink.py --install-only       # create the virtualenv, print its path

The virtualenv lives in a cache directory (``$VEDETTE_BENCH_CACHE``, default
``~/.cache/vedette-bench``), never in this project's environment. Each run gets a fresh base
directory with a settings module made like Bugsink's ``singleserver`` template (SQLite, a
separate snappea worker process for digestion, gunicorn with min(cores, 4) workers as its
Docker image uses), with the ingest rate limits and quotas raised as Bugsink's stress-testing
docs say (``MAX_EVENTS_PER_PROJECT_PER_5_MINUTES``, ``..._PER_HOUR`` and the installation-wide
ones), so that the load is not answered with 429.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

from servers import Running, _spawn, free_port, wait_until_up

CACHE = Path(os.environ.get("VEDETTE_BENCH_CACHE", Path.home() / ".cache" / "vedette-bench"))
VERSION = os.environ.get("VEDETTE_BENCH_BUGSINK_VERSION", "")  # empty: the newest on PyPI
_HIGH = 1_000_000_000

SETTINGS = """\
from bugsink.settings.default import *  # noqa
from bugsink.conf_utils import eat_your_own_dogfood

SECRET_KEY = "{secret}"
DATABASES["default"]["NAME"] = "{base}/db.sqlite3"
DATABASES["snappea"]["NAME"] = "{base}/snappea.sqlite3"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SENTRY_DSN = None
eat_your_own_dogfood(SENTRY_DSN)
TIME_ZONE = "UTC"
SNAPPEA = {{
    "TASK_ALWAYS_EAGER": False,
    "NUM_WORKERS": 4,
    "PID_FILE": None,
    "WAKEUP_CALLS_DIR": "{base}/snappea/wakeup",
    "STATS_RETENTION_MINUTES": 60,
}}
EMAIL_BACKEND = "bugsink.email_backends.QuietConsoleEmailBackend"
BUGSINK = {{
    "BASE_URL": "http://127.0.0.1:{port}",
    "SINGLE_USER": True,
    "SINGLE_TEAM": True,
    "INGEST_STORE_BASE_DIR": "{base}/ingestion",
    "PHONEHOME": False,
    # Raised for the stress test (Bugsink's docs: "Remove Rate-Limits & Set Quota").
    "MAX_EVENTS_PER_PROJECT_PER_5_MINUTES": {high},
    "MAX_EVENTS_PER_PROJECT_PER_HOUR": {high},
    "MAX_EVENTS_PER_PROJECT_PER_MONTH": {high},
    "MAX_EVENTS_PER_5_MINUTES": {high},
    "MAX_EVENTS_PER_HOUR": {high},
    "MAX_EVENTS_PER_MONTH": {high},
}}
"""

CREATE_PROJECT = """
from projects.models import Project
from teams.models import Team
team = Team.objects.create(name="bench")
project = Project.objects.create(team=team, name="bench", slug="bench")
print(project.dsn)
"""


def venv_dir() -> Path:
    return CACHE / (f"bugsink-{VERSION}" if VERSION else "bugsink")


def ensure_installed() -> Path:
    """The virtualenv's bin directory; created and filled with pip on first use."""
    venv = venv_dir()
    bin_dir = venv / "bin"
    if (bin_dir / "bugsink-manage").exists():
        return bin_dir
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    package = f"bugsink=={VERSION}" if VERSION else "bugsink"
    result = subprocess.run(
        [str(bin_dir / "pip"), "install", "--quiet", package], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip install {package} failed:\n{result.stderr.strip()}")
    return bin_dir


def version(bin_dir: Path) -> str:
    out = subprocess.run([str(bin_dir / "bugsink-show-version")], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def start_bugsink() -> Running:
    bin_dir = ensure_installed()
    base = Path(tempfile.mkdtemp(prefix="bugsink-bench-"))
    port = free_port()
    (base / "bench_bugsink_settings.py").write_text(
        SETTINGS.format(secret=secrets.token_hex(32), base=base, port=port, high=_HIGH)
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench_bugsink_settings",
        "PYTHONPATH": str(base),
        "VIRTUAL_ENV": str(bin_dir.parent),
    }
    env.pop("PYTHONHOME", None)
    manage = [str(bin_dir / "bugsink-manage")]

    def run(args: list[str]) -> str:
        return subprocess.run(
            manage + args, env=env, cwd=base, check=True, capture_output=True, text=True
        ).stdout

    run(["migrate", "--noinput"])
    run(["migrate", "snappea", "--database=snappea", "--noinput"])
    dsn = run(["shell", "-c", CREATE_PROJECT]).strip().splitlines()[-1]
    db = base / "db.sqlite3"

    def stored() -> int:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM events_event").fetchone()[0])

    def storage_bytes() -> dict[str, int]:
        return {p.name: p.stat().st_size for p in base.iterdir() if p.is_file()}

    running = Running(f"bugsink-{version(bin_dir)}", [dsn], stored, storage_bytes=storage_bytes)
    running.cleanups.append(lambda: shutil.rmtree(base, ignore_errors=True))
    log = base / "server.log"
    workers = str(min(os.cpu_count() or 1, 4))
    try:
        running.processes.append(
            _spawn(
                [
                    str(bin_dir / "gunicorn"),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    workers,
                    "--log-level",
                    "warning",
                    "bugsink.wsgi",
                ],
                {**env, "GUNICORN_CMD_ARGS": ""},
                log,
            )
        )
        running.processes.append(_spawn([str(bin_dir / "bugsink-runsnappea")], env, log))
        wait_until_up(f"http://127.0.0.1:{port}/")
    except Exception:
        running.close()
        raise
    return running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--install-only", action="store_true")
    args = parser.parse_args()
    bin_dir = ensure_installed()
    print(f"{bin_dir.parent} (bugsink {version(bin_dir)})")
    if not args.install_only:
        running = start_bugsink()
        print(running.dsns[0])
        running.close()


if __name__ == "__main__":
    main()
