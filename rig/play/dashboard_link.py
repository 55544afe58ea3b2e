"""The dashboard as a knob source for `rig play` (beside the terminal and MIDI, control.py):
the player connects to a running dashboard's `/api/play/attach` WebSocket with the token the
dashboard printed, announces its knobs, and turns each slider move into `core.request`, the
same path a `gain=6` line takes, so the glide smooths it. Loopback dashboards only."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from rig.errors import UserError
from rig.net import is_loopback
from rig.play.core import PlayerCore
from rig.train.render import parse_settings

REPORT_S = 0.5  # how often the player's own knob changes (terminal, MIDI) go back to the page


def attach_url(url: str) -> str:
    """The dashboard URL as printed (http://127.0.0.1:8765/?token=...) -> the attach WebSocket."""
    parts = urlsplit(url)
    token = (parse_qs(parts.query).get("token") or [""])[0]
    host = parts.hostname or ""
    if parts.scheme not in ("http", "ws") or not host:
        raise UserError(f"--dashboard {url}: give the URL the dashboard printed, e.g. http://127.0.0.1:8765/?token=...")
    if not is_loopback(host):
        raise UserError(f"--dashboard {url}: the player attaches to a dashboard on this machine only (127.0.0.1)")
    if not token:
        raise UserError(f"--dashboard {url}: the URL lacks ?token=...; copy the whole URL the dashboard printed")
    netloc = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"ws://{netloc}{port}/api/play/attach?token={token}"


def hello(core: PlayerCore) -> dict:
    knobs = [{"name": k["name"], "min": k["min"], "max": k["max"]} for k in core.loaded.knobs]
    return {"model": core.loaded.name, "knobs": knobs, "values": dict(core.values)}


def apply_message(text: str, core: PlayerCore) -> dict[str, float] | None:
    """One message from the dashboard: {"set": {knob: value}} -> the player's knob targets."""
    msg = json.loads(text)
    changes = msg.get("set") if isinstance(msg, dict) else None
    if not isinstance(changes, dict) or not changes:
        return None
    line = ",".join(f"{k}={float(v)!r}" for k, v in changes.items())
    try:
        checked = {k: v for k, v in parse_settings(line, core.loaded.knobs).items() if k in changes}
    except UserError:
        return None  # the dashboard checks ranges too; a stray value is dropped, not played
    core.request(checked)
    return checked


def dashboard_thread(url: str, core: PlayerCore, stop: threading.Event, say: Callable[[str], None]) -> threading.Thread:
    """Connects (a refused or dead dashboard is one line, the player plays on) and listens."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    target = attach_url(url)

    def run() -> None:
        try:
            with connect(target, open_timeout=5) as ws:
                ws.send(json.dumps(hello(core)))
                say(f"dashboard: attached; its Play panel moves the knobs ({url.split('?')[0]})")
                _listen(ws, core, stop)
        except ConnectionClosed as exc:
            say(f"dashboard: detached ({_why(exc)})")
        except OSError as exc:
            say(f"dashboard: cannot attach to {url.split('?')[0]} ({exc}); knobs from the terminal/MIDI only")
        except Exception as exc:  # noqa: BLE001 - a handshake refusal (bad token: 403) must not stop the music
            say(f"dashboard: refused ({exc}); check the URL and its ?token=")

    t = threading.Thread(target=run, name="rig-play-dashboard", daemon=True)
    t.start()
    return t


def _listen(ws, core: PlayerCore, stop: threading.Event) -> None:
    reported = dict(core.values)
    while not stop.is_set():
        try:
            text = ws.recv(timeout=REPORT_S)
        except TimeoutError:
            text = None
        if text is not None:
            apply_message(text, core)
        now = {**core.values, **(core.pending or {})}
        if now != reported:  # a terminal line or a MIDI CC moved a knob: show it on the page
            ws.send(json.dumps({"values": now}))
            reported = now


def _why(exc) -> str:
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is not None and rcvd.code == 4409:
        return rcvd.reason or "another player is attached"
    if rcvd is not None and rcvd.code == 1008:
        return "wrong token"
    return "the dashboard stopped"
