"""`m365emulator serve`: run the emulator over HTTPS with its state dir (CA, keys, persisted world)."""

from __future__ import annotations

import argparse
import json
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
    args = parser.parse_args(argv)
    return serve_command(args)


def serve_command(args: argparse.Namespace) -> int:
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
    uvicorn.run(
        build_app(state, own_process=True),
        host=args.host,
        port=args.port,
        ssl_certfile=str(tls.cert_file),
        ssl_keyfile=str(tls.key_file),
        log_level=args.log_level,
        access_log=False,  # the request log (/_emulator) records every request more cheaply
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
