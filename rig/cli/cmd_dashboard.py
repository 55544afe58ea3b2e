"""`rig dashboard SESSION`: serve the browser dashboard for any session, running or done.
Started on its own it cannot reach the capture process, so it is read-only; the live run's
controllable dashboard is the one `rig capture` serves."""

from __future__ import annotations

import time


def register(sub) -> None:
    p = sub.add_parser("dashboard", help="serve the browser dashboard for a session folder")
    p.add_argument("session", help="session folder written by rig capture")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host and any Host header (other machines can read the session)",
    )
    p.add_argument(
        "--play",
        action="store_true",
        help="print a URL with a token so a `rig play --dashboard URL` can attach and the Play panel can move its knobs",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from rig.dashboard import start_dashboard

    handle, url = start_dashboard(args.session, None, args.host, args.port, args.allow_remote, play=args.play)
    print(f"dashboard (read-only): {url}  (Ctrl-C to stop)", flush=True)
    if args.play:
        print(f"attach a player with: rig play --model M --dashboard '{url}'", flush=True)
    try:
        while handle.alive:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
    return 0
