"""How many simple Graph requests per second the emulator serves: starts `m365emulator serve` as a
subprocess, signs a user in with MSAL (auth code + PKCE, like ShiftDesk), turns throttling off, then
drives GET /v1.0/me/events/{id} over HTTPS keep-alive connections from a second process and prints req/s.

    .venv/bin/python bench/emulator_throughput.py [--seconds 10] [--connections 32] [--path event|me]

The load generator speaks HTTP/1.1 on raw asyncio TLS streams: an httpx client would cost more CPU per
request than the server and, on two cores, would measure itself instead of the emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from m365emulator.testing import STANDARD_REDIRECT, STANDARD_SECRET, redirect_params, sign_in, standard_world  # noqa: E402

LOGIN, PASSWORD = "megan@contoso.onmicrosoft.com", "Megan-pw1"


def cpu_seconds(pid: int) -> float | None:
    """User+system CPU time of a process (Linux /proc), to report the server's cost per request."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(state_dir: str, port: int) -> tuple[subprocess.Popen, str]:
    exe = Path(sys.executable).with_name("m365emulator")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "m365emulator.cli"]
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", str(port), "--state-dir", state_dir, "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        },
    )
    ca_file = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "CA certificate" in line:
            ca_file = line.rsplit(" ", 1)[1].strip()
            break
        if proc.poll() is not None:
            raise SystemExit(f"emulator exited: {line}")
    base = f"https://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            httpx.get(
                base + "/_emulator/graph/throttling",
                verify=ssl.create_default_context(cafile=ca_file),
                timeout=1,
            )
            return proc, ca_file
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("emulator did not answer")


def prepare(base: str, ca_file: str) -> tuple[str, str]:
    """Seed the standard world, sign Megan in with MSAL, disable throttling, create one event."""
    verify = ssl.create_default_context(cafile=ca_file)
    control = httpx.Client(base_url=base + "/_emulator", verify=verify, timeout=15)
    world = control.post("/seed", json=standard_world()).raise_for_status().json()
    client_id = world["apps"][0]["client_id"]
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = ca_file
    app = msal.ConfidentialClientApplication(
        client_id, client_credential=STANDARD_SECRET, authority=f"{base}/contoso.onmicrosoft.com",
        instance_discovery=False, http_client=session,
    )  # fmt: skip
    flow = app.initiate_auth_code_flow(
        ["User.Read", "Calendars.ReadWrite"], redirect_uri=STANDARD_REDIRECT, login_hint=LOGIN
    )
    with httpx.Client(verify=verify, timeout=15) as browser:
        answer = redirect_params(sign_in(browser, flow["auth_uri"], LOGIN, PASSWORD))
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    token = result["access_token"]
    control.put("/graph/throttling", json={"enabled": False}).raise_for_status()
    event = httpx.post(
        base + "/v1.0/me/events",
        verify=verify,
        headers={"Authorization": f"Bearer {token}"},
        json={"subject": "Bench shift", "start": {"dateTime": "2026-12-01T07:00:00", "timeZone": "UTC"},
              "end": {"dateTime": "2026-12-01T15:00:00", "timeZone": "UTC"}},
    ).raise_for_status().json()  # fmt: skip
    return token, event["id"]


async def _connection(port: int, ca_file: str, request: bytes, stop_at: float, counts: list[int]) -> None:
    context = ssl.create_default_context(cafile=ca_file)
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            counts[0 if status == b"200" else 1] += 1
    finally:
        writer.close()


def load_worker(port: int, ca_file: str, request: bytes, seconds: float, connections: int, queue) -> None:
    async def run() -> list[int]:
        counts = [0, 0]
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(
            *(_connection(port, ca_file, request, stop_at, counts) for _ in range(connections))
        )
        return counts

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    queue.put(asyncio.run(run()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--path", choices=["event", "me"], default="event")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="m365emulator-bench-") as state_dir:
        proc, ca_file = start_server(state_dir, port)
        try:
            base = f"https://127.0.0.1:{port}"
            token, event_id = prepare(base, ca_file)
            path = f"/v1.0/me/events/{event_id}" if args.path == "event" else "/v1.0/me"
            request = (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                "Accept: application/json\r\n\r\n"
            ).encode()
            queue = multiprocessing.Queue()
            worker = multiprocessing.Process(
                target=load_worker, args=(port, ca_file, request, 1.0, args.connections, queue)
            )  # warm-up
            worker.start()
            queue.get()
            worker.join()
            worker = multiprocessing.Process(
                target=load_worker, args=(port, ca_file, request, args.seconds, args.connections, queue)
            )
            cpu_before = cpu_seconds(proc.pid)
            started = time.perf_counter()
            worker.start()
            ok, failed = queue.get()
            elapsed = time.perf_counter() - started
            cpu_after = cpu_seconds(proc.pid)
            worker.join()
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    rate = ok / args.seconds
    print(f"GET {path.split('/events/')[0]}{'/events/{id}' if args.path == 'event' else ''}: "
          f"{ok} ok, {failed} failed in {args.seconds:.0f} s over {args.connections} keep-alive HTTPS "
          f"connections ({os.cpu_count()} CPUs, wall {elapsed:.1f} s)")  # fmt: skip
    print(f"{rate:,.0f} requests/second")
    if cpu_before is not None and cpu_after is not None and ok:
        per_request = (cpu_after - cpu_before) / ok
        print(
            f"server CPU: {per_request * 1e6:.0f} us per request (one core could serve {1 / per_request:,.0f} req/s)"
        )
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
