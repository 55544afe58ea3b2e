"""Checks guarding the dashboard: which take files may be served, and who may press the
control buttons. Reads need no token: the session holds nothing secret, and a browser
on another site cannot read our responses (no CORS headers) or open our WebSocket (origin
check below)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from rig.session import TAKES_DIR, TRAIN_DIR

TAKE_KINDS = ("dry", "loopback", "wet")
# Take ids are like t0007_B6.5_M2: no separators and no leading dot, so never `..` or a path.
TAKE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")  # Host header names
TOKEN_HEADER = "X-Rig-Token"


def new_token() -> str:
    return secrets.token_urlsafe(18)


def take_path(folder: Path, take_id: str, kind: str, known_ids: set[str]) -> Path:
    """The file to serve, or an HTTPException: 403 for anything shaped like an escape,
    404 for unknown takes and kinds."""
    if kind not in TAKE_KINDS:
        raise HTTPException(404, f"unknown take file kind {kind!r}; use one of {', '.join(TAKE_KINDS)}")
    if not TAKE_ID.fullmatch(take_id):
        raise HTTPException(403, "take id refused")
    if take_id not in known_ids:
        raise HTTPException(404, f"no committed take {take_id!r} in this session")
    # The takes folder itself may be a symlink (e.g. to a bigger disk); its files may not point out.
    takes = (Path(folder) / TAKES_DIR).resolve()
    real = (takes / f"{take_id}.{kind}.wav").resolve()
    if not real.is_relative_to(takes):
        raise HTTPException(403, "take file points outside the session's takes folder")
    if not real.is_file():
        raise HTTPException(404, f"{take_id}.{kind}.wav is missing")
    return real


def train_output(folder: Path, path: str, listed: set[str]) -> Path:
    """A training report or exported file: only paths the trainer's events name, inside the
    session's train/ folder (a symlink out of it: 403)."""
    if path not in listed:
        raise HTTPException(404, "not a report or exported file of this session")
    train = (Path(folder) / TRAIN_DIR).resolve()
    real = (Path(folder) / path).resolve()
    if not real.is_relative_to(train):
        raise HTTPException(403, "file points outside the session's train folder")
    if not real.is_file():
        raise HTTPException(404, f"{path} is missing")
    return real


def same_origin(origin: str | None, host: str | None, fetch_site: str | None = None) -> bool:
    """True unless the browser says the request comes from another site. Requests without an
    Origin header (curl, scripts) pass: they still need the token."""
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return False
    if origin is None:
        return True
    parts = urlsplit(origin)
    # cast: bool(host) has just ruled out None
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == cast(str, host).lower()


def require_control(request: Request, token: str | None) -> None:
    headers = request.headers
    if not same_origin(headers.get("origin"), headers.get("host"), headers.get("sec-fetch-site")):
        raise HTTPException(403, "cross-origin control request refused")
    given = headers.get(TOKEN_HEADER) or request.query_params.get("token")
    if not given:
        raise HTTPException(401, f"control needs the run's token ({TOKEN_HEADER} header or ?token=)")
    if not token_ok(given, token):
        raise HTTPException(403, "wrong token")


def token_ok(given: str | None, token: str | None) -> bool:
    # cast: bool(given) has just ruled out None
    return bool(given) and token is not None and secrets.compare_digest(cast(str, given).encode(), token.encode())
