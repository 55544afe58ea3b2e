"""One call for `rig dashboard` and `rig capture`: check the host, make a token when there
is something to control, build the app and serve it."""

from __future__ import annotations

import sys
from pathlib import Path

from rig.dashboard.app import create_app
from rig.dashboard.control import RunControl
from rig.dashboard.security import LOOPBACK_HOSTS, new_token
from rig.dashboard.server import ServerHandle, serve_in_thread
from rig.errors import UserError
from rig.net import is_loopback


def check_capture_host(host: str, allow_remote: bool = False) -> None:
    """`rig capture` takes the same host options as `rig dashboard` (--host, --port,
    --allow-remote); checked before the session exists, so a refusal leaves nothing behind."""
    if not is_loopback(host) and not allow_remote:
        raise UserError(
            f"--host {host} would expose the capture's dashboard (and, with the printed token, its controls) "
            "to other machines; add --allow-remote to mean it, or keep the default 127.0.0.1 and use "
            "`ssh -L 8765:127.0.0.1:8765` from elsewhere"
        )


def remote_warning(host: str, port: int, controllable: bool) -> str:
    what = (
        "the session's plan and settings, progress, event log, alerts, take audio, training curves, test "
        "results, reports and exported model files"
    )
    control = (
        "; the printed token lets anyone who sees it pause and abort the run and move an attached player's knobs"
        if controllable
        else "; the printed token lets anyone who sees it move an attached player's knobs"
    )
    return (
        f"warning: --allow-remote: anyone who can reach {host}:{port} can read {what}, over plain HTTP "
        f"(unencrypted, no login){control}. Use it only on a network you trust."
    )


def start_dashboard(
    session_folder: str | Path,
    control: RunControl | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    allow_remote: bool = False,
    play: bool = False,
) -> tuple[ServerHandle, str]:
    """Returns the running server and the URL to print (with the token when controllable)."""
    if not is_loopback(host) and not allow_remote:
        raise UserError(
            f"--host {host} would expose the dashboard to other machines; add --allow-remote "
            "to mean it, or keep the default 127.0.0.1"
        )
    # The token guards the run controls and the Play panel (`play`: a read-only dashboard a
    # `rig play --dashboard URL` may attach to).
    token = new_token() if control is not None or play else None
    own = f"[{host}]" if ":" in host else host  # e.g. 127.0.0.2 is loopback too
    app = create_app(session_folder, control, token, allowed_hosts=None if allow_remote else (*LOOPBACK_HOSTS, own))
    handle = serve_in_thread(app, host, port)
    if allow_remote:
        print(
            remote_warning(host, int(handle.url.rsplit(":", 1)[1].strip("/")), control is not None),
            file=sys.stderr,
            flush=True,
        )
    return handle, handle.url_with_token(token)
