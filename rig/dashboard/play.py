"""The Play panel's link to a running `rig play` (docs/PLAYING.md): the player connects to
the dashboard's WebSocket `/api/play/attach` with the dashboard's token and says which knobs
it has; the page's sliders POST `/api/play/knobs` (token-protected like the run controls) and
the hub forwards the new targets to the player, which glides to them. One player at a time.

Player -> dashboard: {"model": name, "knobs": [{name, min, max}], "values": {name: v}} first,
                     then {"values": {...}} whenever its knobs change (terminal, MIDI).
Dashboard -> player: {"set": {name: value}}."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

from fastapi import HTTPException


@dataclass
class _Player:
    model: str
    knobs: list[dict]
    values: dict[str, float]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


class PlayerHub:
    def __init__(self) -> None:
        self._player: _Player | None = None

    def info(self) -> dict | None:
        """What the page shows (in `run.player`): None hides the Play panel."""
        p = self._player
        return None if p is None else {"model": p.model, "knobs": p.knobs, "values": dict(p.values)}

    def attach(self, hello: dict) -> _Player:
        if self._player is not None:
            raise HTTPException(409, f"a player ({self._player.model}) is already attached")
        knobs = [_knob(k) for k in hello.get("knobs") or []]
        values = {k["name"]: float((hello.get("values") or {}).get(k["name"], k["min"])) for k in knobs}
        self._player = _Player(str(hello.get("model") or "model")[:200], knobs, values)
        return self._player

    def detach(self, player: _Player) -> None:
        if self._player is player:
            self._player = None

    def reported(self, player: _Player, values: dict) -> None:
        """The player's own knob values (changed from its terminal or MIDI)."""
        known = {k["name"] for k in player.knobs}
        player.values.update({k: float(v) for k, v in values.items() if k in known and _number(v)})

    def set(self, changes: dict) -> dict[str, float]:
        """Checks a slider move and queues it for the player; returns what was sent."""
        p = self._player
        if p is None:
            raise HTTPException(409, "no player attached (start one with rig play --dashboard URL)")
        ranges = {k["name"]: k for k in p.knobs}
        sent = {}
        for name, value in changes.items():
            k = ranges.get(name)
            if k is None or not _number(value) or not k["min"] <= float(value) <= k["max"]:
                raise HTTPException(400, f"{name}={value!r}: not a knob of {p.model} within its range")
            sent[name] = float(value)
        p.values.update(sent)
        p.queue.put_nowait({"set": sent})
        return sent


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _knob(k: dict) -> dict:
    if not isinstance(k, dict) or not _number(k.get("min")) or not _number(k.get("max")):
        raise HTTPException(400, "each knob needs a name, min and max")
    return {"name": str(k.get("name"))[:64], "min": float(k["min"]), "max": float(k["max"])}
