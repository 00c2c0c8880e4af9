#!/usr/bin/env python3
"""ShiftDesk's launcher: `python3 dev.py demo` and `python3 dev.py test` on a machine with only Python and git.

Both create `.venv`, install the locked dependencies (requirements.lock, or requirements-dev.lock for tests)
and then do their job. Nothing here needs anything but the standard library, because it runs before the
dependencies exist.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
VAR = Path(os.environ.get("SHIFTDESK_VAR_DIR", ROOT / "var"))


def log(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*args: str | os.PathLike, env: dict | None = None, check: bool = True) -> int:
    return subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=check).returncode


# pip warns once per package about every find-links / extra-index location of the machine's own pip
# configuration that does not exist; those lines say nothing about ShiftDesk, so the installer leaves them out.
PIP_NOISE = ("is ignored: it is neither a file nor a directory",)


def run_pip(*args: str | os.PathLike) -> None:
    """Run pip quietly: its output is shown (less the noise above) only when it fails, or as warnings."""
    done = subprocess.run(
        [str(PY), "-m", "pip", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        # setuptools' editable build warns about folders named like the package (ours are the package)
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    lines = [
        line for line in (done.stdout + done.stderr).splitlines() if not any(n in line for n in PIP_NOISE)
    ]
    if lines:
        print("\n".join(lines), flush=True)
    if done.returncode:
        sys.exit(f"[dev] pip failed (exit {done.returncode}): see above")


def install(dev: bool) -> None:
    """Create the venv and install the lock file; skipped when the lock has not changed since last time."""
    if sys.version_info < (3, 11):  # noqa: UP036 -- dev.py runs first, on whatever python3 is there
        sys.exit("ShiftDesk needs Python 3.11 or newer")
    lock = ROOT / ("requirements-dev.lock" if dev else "requirements.lock")
    stamp = VENV / f".installed-{lock.name}"
    inputs = (lock, ROOT / "pyproject.toml", ROOT / "requirements-bootstrap.lock")
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in inputs)).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and PY.exists():
        return
    if not PY.exists():
        log("creating .venv")
        run(sys.executable, "-m", "venv", VENV)
    pip = ("install", "--quiet", "--disable-pip-version-check", "--no-input")
    # First the pinned installer (requirements-bootstrap.lock says why), installed by whatever pip the venv
    # came with; then the lock, by that installer. Everything is hash-checked and nothing is resolved against
    # the index (--no-deps: the lock already lists every package), so what was published since changes nothing.
    bootstrap = ROOT / "requirements-bootstrap.lock"
    log(f"installing the pinned installer ({bootstrap.name})")
    run_pip(*pip, "--require-hashes", "--no-deps", "-r", bootstrap)
    log(f"installing {lock.name} (first run takes a few minutes)")
    run_pip(*pip, "--require-hashes", "--no-deps", "-r", lock)
    run_pip(*pip, "--no-deps", "--no-build-isolation", "-e", ".")
    stamp.write_text(digest)


def ensure_chromium() -> None:
    """Browser tests use Debian's Chromium (Playwright's own browser download does not work here)."""
    chromium = os.environ.get("SHIFTDESK_CHROMIUM", "/usr/bin/chromium")
    if Path(chromium).exists():
        return
    apt_install("chromium", f"Chromium is missing at {chromium}")


def apt_install(package: str, missing: str) -> None:
    """Install one of Debian's packages, quietly (test tools the machine may lack: Chromium, libfaketime), or
    stop saying what is `missing` and how to install it where this process cannot (not root, no apt-get)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"{missing}: install Debian's `{package}` package (apt-get install {package})")
    log(f"installing {package} from Debian's packages")
    run("apt-get", "update", "-qq")
    run("apt-get", "install", "-y", "-qq", package, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def cmd_screenshots(args: argparse.Namespace) -> int:
    """Regenerate docs/screenshots/ (dashboard, week grid, Calendar Sync at 375 and 1280 px) in Chromium."""
    install(dev=True)
    ensure_chromium()
    return run(PY, ROOT / "docs" / "screenshots" / "make_screenshots.py", check=False)


# `test --fast`: the inner loop. Leaves out what needs minutes or a service of its own: browser tests (Chromium),
# `slow` ones (chaos, soak, the production run, long hypothesis profiles) and `postgres_only` ones, and runs the
# rest on both cores (pytest-xdist) when there are two. The full `test` (and CI) still runs everything.
FAST_MARKERS = "not browser and not slow and not postgres_only"
# What ruff checks, in the full test command and in the inner loop alike.
LINT_PATHS = ("shiftdesk", "m365emulator", "googleemulator", "tests", "bench", "dev.py")


def test_env() -> dict[str, str]:
    """The environment of the test processes. Bytecode caching stays on even where the machine turns it off
    (PYTHONDONTWRITEBYTECODE): without it every pytest worker and every `manage.py` a test starts compiles
    ShiftDesk, the emulators and the rewritten test modules again (~4 s of CPU per process on 2 cores, most
    of the import time of an xdist worker). The caches are __pycache__ folders, which git ignores."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cmd_test(args: argparse.Namespace) -> int:
    install(dev=True)
    if args.dates:
        return run_at_other_dates(args)
    if args.fast:
        return run_fast(args)
    ensure_chromium()
    env = test_env()
    db = env.get("DATABASE_URL", "sqlite (default)")
    log(f"running the test suite on {db.split('@')[-1]}")
    run(PY, "-m", "ruff", "check", *LINT_PATHS)
    run(
        PY, "-m", "mypy", "shiftdesk/calendarsync", "shiftdesk/microsoft"
    )  # config: pyproject.toml [tool.mypy]
    # Two pytest processes: Playwright's sync API leaves an event loop on the main thread, which breaks the
    # asyncio.run() of later tests (msgraph-sdk, the emulator's concurrency tests), so browser tests go last,
    # alone. Each writes a JUnit report; the closing line adds both up.
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    worst = 0
    for phase, marker in (("main", "not browser"), ("browser", "browser")):
        report = VAR / f"pytest-{phase}.xml"
        VAR.mkdir(parents=True, exist_ok=True)
        code = run(
            PY, "-m", "pytest", "-m", marker, f"--junitxml={report}", *args.pytest_args, env=env, check=False
        )
        if code == 5:  # no test selected in this phase (e.g. a path given on the command line)
            continue
        worst = max(worst, code)
        for key, value in junit_totals(report).items():
            totals[key] += value
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped", flush=True)
    return worst


def other_dates(today: dt.date) -> list[tuple[str, dt.datetime]]:
    """The instants `test --dates` sets the clock to, on or after `today`, where a test that mixes up UTC, the
    site's zone (America/Chicago) and the emulators' mailbox zones (Europe/Paris, Europe/London) or assumes a day
    lasts 24 hours fails: the night a week ends (Sunday 23:40 UTC: Monday in Paris, Sunday afternoon in
    Chicago), the Saturday before the next US spring-forward (07:30 UTC, 01:30 in Chicago: tomorrow has 23
    hours) and New Year's Eve (23:40 UTC)."""
    from zoneinfo import ZoneInfo

    from tests.dst import next_dst_changes  # standard library only: usable before the venv exists

    utc = dt.UTC
    sunday = today + dt.timedelta(days=(6 - today.weekday()) % 7 or 7)
    spring, _fall = next_dst_changes(ZoneInfo("America/Chicago"), today)
    return [
        ("a week's last night", dt.datetime.combine(sunday, dt.time(23, 40), utc)),
        (
            "the eve of a spring-forward",
            dt.datetime.combine(spring - dt.timedelta(days=1), dt.time(7, 30), utc),
        ),
        ("New Year's Eve", dt.datetime(today.year, 12, 31, 23, 40, tzinfo=utc)),
    ]


def ensure_faketime() -> str:
    """libfaketime (Debian's `libfaketime`): sets the clock a process and its children see."""

    def find() -> list[Path]:
        return sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))

    if not find():
        apt_install("libfaketime", "libfaketime is missing")
    found = find()
    if not found:
        sys.exit("libfaketime was installed but libfaketimeMT.so.1 is not under /usr/lib/*/faketime/")
    return str(found[0])


def run_at_other_dates(args: argparse.Namespace) -> int:
    """The inner loop's tests again with the clock set to each of other_dates(): a test that passes only on
    the day it is run is a bug (run so, the suite showed four tests with DST dates written out that would have
    failed once past, and a whole-day time off taken for 24 hours). The clock starts at the instant given and
    runs on; every process the tests start sees it too (FAKETIME_DONT_RESET). The monotonic clock is faked
    along with the wall clock: with it left real, libfaketime makes Python's time.sleep fail (EINVAL).
    libfaketime cannot time a wait on a lock (threading.Event.wait(0.5) returns only once the event is set;
    sleep and select are fine): a test that needed one would hang, so each test here is stopped after 60 s
    (pytest-timeout; the slowest of the inner loop takes ~5 s) and fails under its own name."""
    library = ensure_faketime()
    worst = 0
    for name, instant in other_dates(dt.date.today()):
        stamp = instant.strftime("%Y-%m-%d %H:%M:%S")
        log(f"the inner loop's tests at {stamp} UTC ({name})")
        env = {
            **test_env(),
            "LD_PRELOAD": library,
            "FAKETIME": f"@{stamp}",
            "FAKETIME_DONT_RESET": "1",
            "TZ": "UTC",
        }
        # The clock must really be set, or this run would prove nothing: a child process reads it first.
        seen = subprocess.run(
            [PY, "-c", "import time; print(time.time())"], env=env, capture_output=True, text=True, check=True
        ).stdout
        if abs(float(seen) - instant.timestamp()) > 60:
            sys.exit(
                f"libfaketime did not set the clock: a process saw {seen.strip()}, not {instant.timestamp()}"
            )
        pytest = (PY, "-m", "pytest", "-m", FAST_MARKERS, "--timeout=60", *fast_workers(), *args.pytest_args)
        worst = max(worst, run(*pytest, env=env, check=False))
    return worst


def fast_workers() -> list[str]:
    cores = min(os.cpu_count() or 1, 4)
    # One test process more than there are cores: a test process runs its emulator in a thread, so it uses at
    # most one core, and about a fifth of its time it waits (on the emulator's injected latency, a Retry-After,
    # a lease running out, a `manage.py` child); the extra process runs meanwhile. On 2 cores, 3 processes took
    # 0.5-7 s less than 2 in each of four back-to-back pairs of runs, for ~8% more CPU (its own start-up).
    # --dist worksteal: each worker starts with its share of the tests in file order and takes over half of what
    # another has left when it runs dry, so none waits long at the end while another finishes a long file
    # (with loadfile a file is one unit: tests/security/test_no_500.py alone is ~20 s). The session fixtures
    # (the emulator, the test database) are per worker in either mode.
    return ["-n", str(cores + 1), "--dist", "worksteal"] if cores > 1 else []


def run_fast(args: argparse.Namespace) -> int:
    env = test_env()
    started = time.monotonic()
    run(PY, "-m", "ruff", "check", *LINT_PATHS)
    pytest = (PY, "-m", "pytest", "-q", "-m", FAST_MARKERS, *fast_workers(), *args.pytest_args)
    code = run(*pytest, env=env, check=False)
    log(f"fast loop: {time.monotonic() - started:.0f} s (browser, slow and PostgreSQL-only tests left out)")
    return code


def junit_totals(report: Path) -> dict[str, int]:
    import xml.etree.ElementTree as ET

    if not report.exists():
        return {"passed": 0, "failed": 1, "skipped": 0}  # pytest died before writing: count it as a failure
    suite = ET.parse(report).getroot()  # noqa: S314 -- our own pytest just wrote it
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    tests, failed = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    return {"passed": tests - failed - skipped, "failed": failed, "skipped": skipped}


# --- demo ------------------------------------------------------------------------------------------------------

EMULATOR_PORT = int(os.environ.get("SHIFTDESK_EMULATOR_PORT", "8443"))
WEB_PORT = int(os.environ.get("SHIFTDESK_WEB_PORT", "8000"))


def wait_for(url: str, context: ssl.SSLContext | None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, context=context, timeout=2).close()  # noqa: S310 -- our own http(s) URL
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not come up within {seconds:.0f} s") from None
            time.sleep(0.3)


def allow_http_notifications(emulator_url: str, context: ssl.SSLContext) -> None:
    """Graph posts change notifications to https URLs only; the demo's ShiftDesk is plain http on this machine,
    so the emulator is told to post to it anyway (its Graph settings; saved with its state). Without this the
    demo still works, reading Outlook busy times on the refresh interval alone."""
    request = urllib.request.Request(  # noqa: S310 -- our own emulator's https URL
        emulator_url + "/_emulator/graph/settings",
        data=json.dumps({"allow_http_notifications": True}).encode(),
        headers={"Content-Type": "application/json"},
        method="PATCH",
    )
    urllib.request.urlopen(request, context=context, timeout=10).close()  # noqa: S310


def cmd_demo(args: argparse.Namespace) -> int:
    install(dev=False)
    VAR.mkdir(parents=True, exist_ok=True)
    emulator_dir = VAR / "emulator"
    emulator_url = f"https://localhost:{EMULATOR_PORT}"
    # localhost, not 127.0.0.1: Google accepts an http Redirect URL only on localhost (https elsewhere), and
    # the emulator's Cloud console applies the same rule; Microsoft's side accepts either.
    web_url = f"http://localhost:{WEB_PORT}"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "MICROSOFT_LOGIN_URL": emulator_url,
        "MICROSOFT_GRAPH_URL": emulator_url,
        "MICROSOFT_CA_BUNDLE": str(emulator_dir / "ca.pem"),
        # Google's side is served by the same emulator process under /google, with the same CA.
        "GOOGLE_ACCOUNTS_URL": emulator_url + "/google",
        "GOOGLE_OAUTH_URL": emulator_url + "/google",
        "GOOGLE_API_URL": emulator_url + "/google",
        "GOOGLE_CA_BUNDLE": str(emulator_dir / "ca.pem"),
        "SHIFTDESK_PUBLIC_URL": web_url,
        # The demo is not production: DEBUG on (settings.py defaults it off) lets it run with the demo's keys.
        "DEBUG": os.environ.get("DEBUG", "true"),
        # The emulator's EWS is on 127.0.0.1, a loopback address Password Authentication refuses unless listed.
        "EXCHANGE_ALLOWED_HOSTS": "127.0.0.1,::1",
    }
    children: list[subprocess.Popen] = []

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        log("starting the Microsoft 365 emulator")
        children.append(
            subprocess.Popen(
                [
                    str(VENV / "bin" / "m365emulator"),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(EMULATOR_PORT),
                    "--state-dir",
                    str(emulator_dir),
                ],
                cwd=ROOT,
                env=env,
            )
        )
        ca_file = emulator_dir / "ca.pem"
        deadline = time.monotonic() + 30
        while not ca_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        context = ssl.create_default_context(cafile=str(ca_file))
        wait_for(emulator_url + "/_emulator/openapi.json", context)
        allow_http_notifications(emulator_url, context)

        log("preparing the database and demo data")
        run(PY, "manage.py", "migrate", "--noinput", "-v", "0", env=env)
        run(PY, "manage.py", "seed_demo", env=env)
        run(
            PY,
            "manage.py",
            "seed_demo_emulator",
            "--emulator",
            emulator_url,
            *(["--preregister"] if args.preregister else []),
            env=env,
        )
        run(
            PY,
            "manage.py",
            "seed_demo_google",
            "--emulator",
            emulator_url,
            *(["--preregister"] if args.preregister else []),
            env=env,
        )

        log("starting the sync worker, the free/busy refresher and the web server")
        children.append(subprocess.Popen([str(PY), "manage.py", "syncworker"], cwd=ROOT, env=env))
        children.append(subprocess.Popen([str(PY), "manage.py", "refreshbusy"], cwd=ROOT, env=env))
        children.append(
            subprocess.Popen(
                [str(PY), "manage.py", "runserver", "--noreload", f"127.0.0.1:{WEB_PORT}"], cwd=ROOT, env=env
            )
        )
        wait_for(web_url + "/login/", None)
        logins = json.loads((VAR / "demo-logins.json").read_text())
        print(DEMO_BANNER.format(web=web_url, emulator=emulator_url, ca=ca_file, **logins), flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        failed = [c for c in children if c.poll() not in (None, 0)]
        return 1 if failed else 0
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


DEMO_BANNER = """
================================================================================================
 ShiftDesk demo is running (Ctrl-C stops everything)

 ShiftDesk                 {web}
   Admin                   {admin_email} / {admin_password}
   Regular staff           {staff_email} / {staff_password}

 Microsoft 365 emulator    {emulator}
   App registrations       {emulator}/portal/
     Microsoft 365 admin   {tenant_admin_email} / {tenant_admin_password}   (the portal and admin consent;
                           not the ShiftDesk admin above)
   Outlook viewer          {emulator}/outlook/
   Staff mailboxes         every demo staff member's ShiftDesk email, password {mailbox_password}
   Personal account        {personal_account} / {mailbox_password}   (a personal Microsoft account, as in
                           the FAQ: it signs in where the app admits personal Microsoft accounts)
   Its certificate comes from a local CA: {ca}
   (your browser will warn once: trust that file, or accept the warning for this local address)

 Google emulator           {emulator}/google/   (same process and certificate)
   Cloud console           {emulator}/google/console/   (project, consent screen, OAuth client)
     Google admin          {google_admin_email} / {google_password}
   Google Calendar viewer  {emulator}/google/calendar/view/
   Google accounts         every demo staff member's ShiftDesk email, password {google_password}
                           e.g. {staff_email} / {google_password}

 Follow the FAQ: Admin > Integrations shows the Redirect URL to register in the portal (Outlook) or
 the Cloud console (Google: docs/google-setup.md).
================================================================================================
"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="install everything and start the demo")
    demo.add_argument(
        "--preregister",
        action="store_true",
        help="register the app (Microsoft) and the OAuth client (Google) in the emulator and fill in Admin > "
        "Integrations for you",
    )
    test = sub.add_parser(
        "test", help="install everything and run the whole test suite; other arguments go to pytest"
    )
    test.add_argument(
        "--fast", action="store_true", help="inner loop: no browser, slow or PostgreSQL-only tests"
    )
    test.add_argument(
        "--dates",
        action="store_true",
        help="the inner loop's tests with the clock set to a week's last night, the eve of a DST change and "
        "New Year's Eve (libfaketime)",
    )
    sub.add_parser("screenshots", help="regenerate the screenshots in docs/screenshots/")
    args, extra = parser.parse_known_args()
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pytest_args = extra  # everything after `test` goes to pytest (-q, -k NAME, paths ...)
    return {"demo": cmd_demo, "test": cmd_test, "screenshots": cmd_screenshots}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
