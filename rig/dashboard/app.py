"""The dashboard's FastAPI app: one page, a state snapshot, a live event stream, take audio
and the run controls. Everything is read from the session folder (docs/CONTRACTS.md)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from pathlib import Path

from fastapi import FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from rig import __version__
from rig.dashboard.control import ACTIONS, RunControl
from rig.dashboard.live import LiveLevels
from rig.dashboard.play import PlayerHub
from rig.dashboard.push import stream
from rig.dashboard.security import (
    LOOPBACK_HOSTS,
    require_control,
    same_origin,
    take_path,
    token_ok,
    train_output,
)
from rig.dashboard.state import SessionFollower
from rig.errors import UserError
from rig.session import EVENTS_FILE

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the page URL carries the control token
}


def create_app(
    session_folder: str | Path,
    control: RunControl | None = None,
    token: str | None = None,
    *,
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS,
) -> FastAPI:
    """`control` is None for a read-only dashboard. `allowed_hosts` (Host header names) guards a
    loopback server against DNS rebinding; None accepts any host (--allow-remote)."""
    folder = Path(session_folder)
    follower = SessionFollower(folder)
    hub = PlayerHub()
    app = FastAPI(title="rig dashboard", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    _add_read_routes(app, folder, follower, control, hub)
    _add_control_route(app, control, token)
    _add_play_routes(app, hub, token)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _add_read_routes(
    app: FastAPI, folder: Path, follower: SessionFollower, control: RunControl | None, hub: PlayerHub
) -> None:
    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/health")
    def health() -> dict:
        events = folder / EVENTS_FILE
        return {
            "ok": True,
            "session": folder.name,
            "read_only": control is None,
            "version": __version__,
            "events_bytes": events.stat().st_size if events.exists() else 0,
        }

    def run_extra() -> dict:
        return {
            "control": control is not None,
            "control_state": getattr(control, "state", None),
            "player": hub.info(),  # an attached `rig play` (the Play panel), or None
        }

    @app.get("/api/state")
    def state(request: Request) -> Response:
        return _json(follower.state_json(run_extra()), "gzip" in request.headers.get("accept-encoding", ""))

    @app.get("/api/takes/{take_id}/{kind}.wav")
    def take_audio(take_id: str, kind: str) -> FileResponse:
        path = take_path(folder, take_id, kind, follower.take_ids())
        return FileResponse(path, media_type="audio/wav")

    @app.get("/api/files/{path:path}")
    def train_file(path: str) -> FileResponse:
        return FileResponse(train_output(folder, path, follower.train_files()))

    @app.websocket("/api/live")
    async def live(ws: WebSocket, fold: str = Query(""), rev: int = Query(-1)) -> None:
        """Pushes what changed in /api/state since the page's copy (its `fold` and `rev`)."""
        if not same_origin(ws.headers.get("origin"), ws.headers.get("host")):
            await ws.close(code=1008)
            return
        await ws.accept()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await stream(ws, follower, run_extra, fold, rev, LiveLevels(folder))


def _add_control_route(app: FastAPI, control: RunControl | None, token: str | None) -> None:
    @app.post("/api/control/{action}")
    def control_action(action: str, request: Request) -> dict:
        if action not in ACTIONS:
            raise HTTPException(404, f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        require_control(request, token)
        if control is None:
            raise HTTPException(409, "read-only dashboard: this session is not the live run")
        try:
            getattr(control, action)()
        except UserError as exc:
            raise HTTPException(409, str(exc)) from None
        return {"ok": True, "action": action, "state": control.state}


def _add_play_routes(app: FastAPI, hub: PlayerHub, token: str | None) -> None:
    @app.websocket("/api/play/attach")
    async def attach(ws: WebSocket, token_given: str = Query("", alias="token")) -> None:
        """A `rig play` attaches here (with the dashboard's token) to take the Play panel's knobs."""
        if not same_origin(ws.headers.get("origin"), ws.headers.get("host")) or not token_ok(token_given, token):
            await ws.close(code=1008)
            return
        await ws.accept()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            try:
                player = hub.attach(await ws.receive_json())
            except HTTPException as exc:
                await ws.close(code=4409, reason=str(exc.detail)[:120])
                return
            try:
                await relay(ws, hub, player)
            finally:
                hub.detach(player)

    @app.post("/api/play/knobs")
    async def play_knobs(request: Request) -> dict:
        require_control(request, token)
        changes = await request.json()
        if not isinstance(changes, dict):
            raise HTTPException(400, "send a JSON object {knob: value}")
        return {"ok": True, "set": hub.set(changes)}


async def relay(ws: WebSocket, hub: PlayerHub, player) -> None:
    """Slider moves to the player; the player's own knob changes back into the hub."""

    async def upstream() -> None:
        while True:
            msg = await ws.receive_json()
            if isinstance(msg, dict) and isinstance(msg.get("values"), dict):
                hub.reported(player, msg["values"])

    reader = asyncio.create_task(upstream())
    try:
        while not reader.done():
            getter = asyncio.create_task(player.queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await ws.send_json(getter.result())
            else:
                getter.cancel()
    finally:
        reader.cancel()


def _json(text: str, gzip_ok: bool) -> Response:
    body = text.encode()
    headers = {"Cache-Control": "no-store"}
    if gzip_ok and len(body) > 4096:
        body = gzip.compress(body, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)
