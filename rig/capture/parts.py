"""Wiring to the other parts: the robot (rig.knobs), the audio interface (rig.audio) and,
with --sim, the simulated device (rig.sim) listening to the robot simulator's shafts.
Everything the capture loop needs from the hardware goes through `Robot` and `open_audio`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from serial import SerialException

from rig.errors import UserError
from rig.plan import Plan

KnobSource = Callable[[], dict[str, float]]


def shaft_knob_source(plan: Plan, shaft_path: Path) -> KnobSource:
    """Dial values from the robot simulator's actual shaft angles (fixed knobs at their value)."""
    from rig.knobs.shafts import ShaftReader
    from rig.sim import shaft_knob_source as from_degrees

    return from_degrees(plan.knobs, ShaftReader(shaft_path).degrees)


SIM_TIMESCALE = 10.0  # --sim: the robot simulator runs its virtual motors 10x faster than real time


def robot_port(plan: Plan, sim: bool, faults: dict | None = None) -> str:
    """The robot's port; with --sim a simulator URL (the plan's sim://avr is kept), sped up
    unless the URL says otherwise, with any fault switches as URL options."""
    if not sim:
        return plan.robot.port
    url = plan.robot.port if plan.robot.port.startswith("sim://") else "sim://native"
    base, _, query = url.partition("?")
    options = dict(parse_qsl(query))
    options.setdefault("timescale", f"{SIM_TIMESCALE:g}")
    options.update({k: str(v) for k, v in (faults or {}).items()})
    return f"{base}?{urlencode(options)}"


class RobotError(UserError):
    """The robot failed (the message says how): the run stops without parking.
    `traffic`: the driver's last lines on the wire, kept for the event log (a bug report)."""

    def __init__(self, message: str, traffic: list[str] | None = None):
        super().__init__(message)
        self.traffic = traffic or []


@contextmanager
def robot_errors(port: str):
    """Every driver failure becomes one RobotError line naming the way on."""
    from rig.knobs.driver import FirmwareError, ResetDetected

    try:
        yield
    except UserError as exc:
        raise RobotError(str(exc), getattr(exc, "traffic", None)) from None
    except (FirmwareError, ResetDetected, SerialException, OSError) as exc:
        raise RobotError(f"robot on {port}: {exc}; check it", getattr(exc, "traffic", None)) from None


class Robot:
    """The knob robot as the capture sees it: open (banner checked), home, verified moves."""

    def __init__(self, plan: Plan, port: str):
        from rig.knobs import KnobController

        self.plan = plan
        self.port = port
        with robot_errors(port):
            self.ctl = KnobController.open(plan, port)
        self.shaft_path = Path(self.ctl.shaft_file) if self.ctl.shaft_file else None
        self._shafts = shaft_knob_source(plan, self.shaft_path) if self.shaft_path else None
        self._target: dict[str, float] | None = None
        self.worst: dict[str, float] = {}

    @property
    def banner(self) -> str:
        return self.ctl.banner

    @property
    def time_scale(self) -> float:
        """Simulated seconds per real second (1 on a real robot)."""
        sim = self.ctl.sim
        return float(sim.opts.timescale) if sim else 1.0

    @property
    def recoveries(self) -> int:
        """MCU resets the driver recovered from (re-homed and redid the move)."""
        return int(getattr(self.ctl, "recoveries", 0))

    def home(self) -> None:
        with robot_errors(self.port):
            self.ctl.home()

    def move(self, values: dict[str, float]) -> None:
        """Returns once the firmware reports every axis at its target (the driver verifies)."""
        with robot_errors(self.port):
            self.ctl.move_to({k.name: values[k.name] for k in self.plan.knobs if k.axis is not None})

    def actual(self) -> dict[str, float] | None:
        """Knob values from the simulator's real shafts (None on a real robot)."""
        return self._shafts() if self._shafts else None

    def knob_source(self) -> KnobSource | None:
        """What the simulated device hears, watched: every reading during a take is compared
        with the target, so a shaft that wandered mid-take is caught even if it came back."""
        if self._shafts is None:
            return None

        def read() -> dict[str, float]:
            assert self._shafts is not None  # checked above; set once, in __init__
            values = self._shafts()
            if self._target is not None:
                for name, target in self._target.items():
                    self.worst[name] = max(self.worst.get(name, 0.0), abs(values[name] - target))
            return values

        return read

    def watch(self, target: dict[str, float] | None) -> None:
        """Start (target: `worst` restarts) or stop (None: `worst` keeps the take's figures)."""
        if target is not None:
            self.worst = {}
        self._target = target

    def park(self) -> None:
        with robot_errors(self.port):
            self.ctl.park()

    def close(self) -> None:
        self.ctl.close()


def open_audio(
    plan: Plan,
    sim: bool,
    jack: bool,
    robot: Robot,
    plan_file: Path,
    faults: dict[int, str] | None = None,
    realtime: bool = False,
):
    """The interface to record through. --sim: the virtual interface running the simulated
    device, whose knobs follow the robot simulator's shafts (so a wrong move is audible), as
    fast as it can or, with `realtime`, at the pace of a real interface."""
    from rig import audio

    if not sim:
        return audio.open_interface(plan.audio)
    knob_source = robot.knob_source()
    if knob_source is None:
        raise UserError(
            "--sim needs the robot simulator (its shaft angles drive the virtual device); use a sim:// robot port"
        )
    if jack:
        from rig.capture.jackpath import open_jack_audio

        return open_jack_audio(plan, plan_file, robot.shaft_path)
    from rig import sim as simulated

    device = simulated.make_device(plan.device.simulator, sample_rate=plan.audio.sample_rate)
    # --sim means the virtual interface whatever the plan names: a real plan is tried on the
    # simulated rig before anything is wired
    virtual = plan.audio.model_copy(update={"interface": "virtual"})
    iface = audio.open_interface(virtual, device=simulated.KnobFollower(device, knob_source), realtime=realtime)
    return ScheduledFaults(iface, faults) if faults else iface


class ScheduledFaults:
    """Test hook: inject `faults[n]` (xrun, drop, clip, silent) into the n-th recording."""

    def __init__(self, iface, faults: dict[int, str]):
        self.iface, self.faults, self.calls = iface, dict(faults), 0
        self.name = getattr(iface, "name", "virtual")
        self.sample_rate = iface.sample_rate

    def play_record(self, signal):
        if self.calls in self.faults:
            self.iface.inject(self.faults[self.calls])
        self.calls += 1
        return self.iface.play_record(signal)

    def close(self) -> None:
        self.iface.close()
