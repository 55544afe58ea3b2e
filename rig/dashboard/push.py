"""The live stream to a page: after the page loaded /api/state, the server pushes the
top-level keys of the view that changed since, and only the new rows of the takes and alerts
lists. The page merges without knowing what any event means (the fold is state.py's).

Messages (JSON text):
  {"now": t, "set": {key: value, ...}, "append": {"takes": [rows], ...}}   changes
  {"now": t}                                                             heartbeat every 5 s
  {"now": t, "live": {...}}   the recording path's levels (~10 Hz while a take records,
                     rig/session/live.py); not part of /api/state
  {"reload": true}   the server refolded (log shrank or was replaced, or a new server):
                     fetch /api/state once and reconnect"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from fastapi import WebSocket, WebSocketDisconnect

from rig.dashboard.live import LiveLevels
from rig.dashboard.state import LIST_KEYS, Encoded, SessionFollower, to_json

POLL_S = 0.1  # how often each stream looks for news: the live levels come at ~10 Hz
HEARTBEAT_S = 5.0  # lets the page notice a dead connection (e.g. after the laptop slept)


def diff_message(old: Encoded | None, new: Encoded, now: float) -> str | None:
    """The message that brings a page holding `old` to `new` (everything when `old` is None);
    None when nothing changed."""
    changed, appended = [], []
    for key, text in new.keys.items():
        if old is not None and old.keys.get(key) == text:
            continue
        if old is not None and key in LIST_KEYS:
            before, after = old.rows[key], new.rows[key]
            if len(after) >= len(before) and after[: len(before)] == before:
                appended.append(f'"{key}":[{",".join(after[len(before) :])}]')
                continue
        changed.append(f'"{key}":{text}')
    if not changed and not appended:
        return None
    return f'{{"now":{now:.3f},"set":{{{",".join(changed)}}},"append":{{{",".join(appended)}}}}}'


async def stream(
    ws: WebSocket,
    follower: SessionFollower,
    run_extra: Callable[[], dict],
    fold: str,
    rev: int,
    live: LiveLevels | None = None,
) -> None:
    """Pushes changes to one page that holds revision `rev` of fold `fold`."""
    live_seq = None
    closed = asyncio.Event()
    watcher = asyncio.create_task(_watch_close(ws, closed))
    try:
        enc = await asyncio.to_thread(follower.encoded, run_extra())
        sent = follower.encoded_at(rev)  # unknown: every key once (another fold: reloads below)
        last_sent_t = 0.0
        while not closed.is_set():
            if enc.fold != fold:
                await ws.send_json({"reload": True})
                return
            message = diff_message(sent, enc, time.time()) if enc is not sent else None
            sent = enc
            if message or time.monotonic() - last_sent_t > HEARTBEAT_S:
                await ws.send_text(message or f'{{"now":{time.time():.3f}}}')
                last_sent_t = time.monotonic()
            levels = live.read() if live is not None else None
            if levels is not None and (levels.get("seq"), levels.get("t")) != live_seq:
                live_seq = (levels.get("seq"), levels.get("t"))
                await ws.send_text(f'{{"now":{time.time():.3f},"live":{to_json(levels)}}}')
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), POLL_S)
            enc = await asyncio.to_thread(follower.encoded, run_extra())
    finally:
        watcher.cancel()


async def _watch_close(ws: WebSocket, closed: asyncio.Event) -> None:
    """The page sends nothing; reading is only how a disconnect becomes visible."""
    try:
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        closed.set()
