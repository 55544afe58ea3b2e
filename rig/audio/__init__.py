"""Audio part: the dry program, interfaces (PortAudio, virtual), alignment, take checks.
See docs/CONTRACTS.md for how capture uses it."""

from rig.audio.align import AlignedTake, AlignmentError, align_take
from rig.audio.interface import PRESETS, AudioInterface, Recording, open_interface
from rig.audio.program import DryProgram, build_program
from rig.audio.qc import DRIFT_ESR, QCResult, check_take, esr, replicate_esr, warm_up
from rig.audio.virtual import VirtualInterface
from rig.audio.wav import write_take_wavs

__all__ = [
    "DRIFT_ESR",
    "PRESETS",
    "AlignedTake",
    "AlignmentError",
    "AudioInterface",
    "DryProgram",
    "QCResult",
    "Recording",
    "VirtualInterface",
    "align_take",
    "build_program",
    "check_take",
    "esr",
    "open_interface",
    "replicate_esr",
    "warm_up",
    "write_take_wavs",
]
