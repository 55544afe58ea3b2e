"""What every audio interface gives capture: play a signal, record loopback and return.

Wiring (Simionato & Fasciani 2024, sec. 3.3.1): the program goes out on two outputs; output
<loopback> is cabled straight back to input <loopback>, output <send> feeds the device
whose output comes back on input <return>. Channel numbers are 1-based, as on the panel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rig.errors import UserError
from rig.plan.models import Audio, ChannelMap

if TYPE_CHECKING:
    from rig.audio.device import BlockDevice

TAIL_S = 0.5  # recorded after the program so a delayed return is not cut off


@dataclass(frozen=True)
class Preset:
    match: str  # substring of the PortAudio device name
    channels: ChannelMap


LOOPBACK_WIRING = ChannelMap(send=2, loopback=1, **{"return": 2})
PRESETS = {
    "scarlett-solo": Preset("Scarlett Solo", LOOPBACK_WIRING),
    "scarlett-2i2": Preset("Scarlett 2i2", LOOPBACK_WIRING),
    "motu-m4": Preset("M4", LOOPBACK_WIRING),
}


@dataclass
class Recording:
    loopback: np.ndarray  # float32, len(signal) + tail samples
    wet: np.ndarray
    sample_rate: int
    status: dict = field(default_factory=lambda: {"overflow": 0, "underflow": 0, "xruns": 0})
    wall_s: float = 0.0  # how long the recording took


class AudioInterface(Protocol):
    sample_rate: int
    name: str

    def play_record(self, signal: np.ndarray) -> Recording: ...

    def close(self) -> None: ...


def channel_map(audio: Audio) -> ChannelMap:
    if audio.channels is not None:
        return audio.channels
    preset = PRESETS.get(audio.interface)
    return preset.channels if preset else LOOPBACK_WIRING


def open_interface(audio: Audio, device: BlockDevice | None = None, **options) -> AudioInterface:
    """'virtual' runs `device` in-process; anything else is a PortAudio device (preset or name)."""
    if audio.interface == "virtual":
        if device is None:
            raise UserError("audio.interface is virtual but no simulated device was given; run with --sim")
        from rig.audio.virtual import VirtualInterface

        return VirtualInterface(device, sample_rate=audio.sample_rate, blocksize=audio.blocksize, **options)
    from rig.audio.portaudio import PortAudioInterface

    return PortAudioInterface(audio, **options)


def empty_status() -> dict:
    return {"overflow": 0, "underflow": 0, "xruns": 0}
