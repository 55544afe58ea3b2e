"""One call for `rig dashboard` and `rig capture`: check the host, make a token when there
is something to control, build the app and serve it."""

from __future__ import annotations

from pathlib import Path

from rig.dashboard.app import create_app
from rig.dashboard.control import RunControl
from rig.dashboard.security import LOOPBACK_HOSTS, new_token
from rig.dashboard.server import ServerHandle, is_loopback, serve_in_thread
from rig.errors import UserError


def start_dashboard(session_folder: str | Path, control: RunControl | None = None, host: str = "127.0.0.1",
                    port: int = 8765, allow_remote: bool = False) -> tuple[ServerHandle, str]:
    """Returns the running server and the URL to print (with the token when controllable)."""
    if not is_loopback(host) and not allow_remote:
        raise UserError(f"--host {host} would expose the dashboard to other machines; add --allow-remote "
                        "to mean it, or keep the default 127.0.0.1")
    token = new_token() if control is not None else None
    own = f"[{host}]" if ":" in host else host  # e.g. 127.0.0.2 is loopback too
    app = create_app(session_folder, control, token, allowed_hosts=None if allow_remote else (*LOOPBACK_HOSTS, own))
    handle = serve_in_thread(app, host, port)
    return handle, handle.url_with_token(token)
