"""`m365emulator serve`: run the emulator over HTTPS with its state dir (CA, keys, persisted world)."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from pathlib import Path

import uvicorn

from m365emulator.control.identity import ControlError, apply_seed
from m365emulator.server import build_app
from m365emulator.state import EmulatorState
from m365emulator.tls import ensure_tls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="m365emulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the identity platform and Graph over HTTPS")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443)
    serve.add_argument("--state-dir", default="var/m365emulator", help="CA, keys and the saved world")
    serve.add_argument("--seed", type=Path, help="JSON file applied like POST /_emulator/seed at start")
    serve.add_argument(
        "--hostname", action="append", default=[], help="extra host name for the certificate (repeatable)"
    )
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--control-token",
        default=os.environ.get("M365EMULATOR_CONTROL_TOKEN", ""),
        help="required to serve on a non-loopback address: every control API request (/_emulator) must then "
        "send it in the X-Emulator-Control-Token header (env M365EMULATOR_CONTROL_TOKEN)",
    )
    args = parser.parse_args(argv)
    return serve_command(args)


def serve_command(args: argparse.Namespace) -> int:
    if not is_loopback_address(args.host) and not args.control_token:
        # The control API resets and seeds the whole world: on an address others can reach, only with a token.
        print(f"m365emulator: refusing to serve on {args.host}, which is not a loopback address, without "
              "--control-token (the control API would be open to the network)", file=sys.stderr)  # fmt: skip
        return 2
    state_dir = Path(args.state_dir)
    extra = tuple(args.hostname) + ((args.host,) if args.host not in ("0.0.0.0", "::") else ())  # noqa: S104
    tls = ensure_tls(state_dir, extra)
    state = EmulatorState(state_dir)
    if args.seed:
        try:
            apply_seed(state, json.loads(args.seed.read_text()))
        except (OSError, ValueError, ControlError) as exc:
            print(f"m365emulator: cannot apply seed {args.seed}: {exc}", file=sys.stderr)
            return 2
    shown_host = "localhost" if args.host in ("0.0.0.0", "::", "127.0.0.1") else args.host  # noqa: S104
    state.base_url = f"https://{shown_host}:{args.port}"
    print(f"m365emulator: serving {state.base_url}", flush=True)
    print(f"m365emulator: CA certificate {tls.ca_file.resolve()}", flush=True)
    print(f"m365emulator: authority e.g. {state.base_url}/common ; Graph {state.base_url}/v1.0", flush=True)
    print(
        f"m365emulator: Google (googleemulator) {state.base_url}/google ; console {state.base_url}/google/console/",
        flush=True,
    )
    uvicorn.run(
        build_app(
            state,
            own_process=True,
            control_hosts=(*args.hostname, shown_host),
            control_token=args.control_token,
        ),
        host=args.host,
        port=args.port,
        ssl_certfile=str(tls.cert_file),
        ssl_keyfile=str(tls.key_file),
        log_level=args.log_level,
        access_log=False,  # the request log (/_emulator) records every request more cheaply
        timeout_graceful_shutdown=5,
    )
    return 0


def is_loopback_address(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost: whatever it resolves to, treat it as reachable


if __name__ == "__main__":
    raise SystemExit(main())
