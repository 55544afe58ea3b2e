"""The host driver for the knob robot: opens a serial port or a sim:// URL, checks the
firmware, configures the axes from the plan, homes, and moves knobs to dial values. Every
move is confirmed by the firmware's own position report before move_to() returns; line
noise is survived by resending the same sequence number (the firmware answers a repeat from
its cache without acting twice) and an MCU reset by re-homing and redoing the move."""

from __future__ import annotations

import logging
import math
import random
import time
from collections import deque
from dataclasses import dataclass

import serial
import serial.tools.list_ports

from rig.errors import UserError
from rig.knobs import protocol as P
from rig.knobs.simulator import Simulator, parse_url

log = logging.getLogger(__name__)
TRAFFIC_LINES = 50  # the last lines each way, kept for errors (Klipper's dump_debug idea)

BAUD = 115200
REPLY_TIMEOUT = 0.15  # a reply takes < 10 ms at 115200; resending is harmless (cached reply)
QUICK_RESEND = 0.01  # after a damaged line (most likely our reply): resend this soon
SILENCE_S = 3.0  # not one byte back for this long, through several resends: the robot is gone
# How many sends a request may take. A round trip survives a noisy line only if every byte
# of the request and of the reply does, so the budget grows with the line: sized for 2 %
# damaged bytes (twice what the rig must stand) and a miss rate of 1e-9 per request. While
# the robot is silent, SILENCE_S ends the tries much sooner.
DESIGN_NOISE = 0.02
REPLY_BYTES = 64  # a typical reply incl. checksum (STATUS ~62; the longest is 100)
MISS_RATE = 1e-9
MIN_SENDS = 12
MAX_RECOVERIES = 3


def sends_for(nbytes: int, noise: float = DESIGN_NOISE) -> int:
    """Sends that make a request of nbytes fail with MISS_RATE at `noise` per byte."""
    ok = (1.0 - noise) ** (nbytes + 1 + REPLY_BYTES)
    return max(MIN_SENDS, math.ceil(math.log(MISS_RATE) / math.log1p(-ok)))


class NoAnswer(UserError):
    """No valid reply to a request within its send budget. `traffic`: the last lines on the wire."""

    def __init__(self, message: str, traffic: list[str] | None = None):
        super().__init__(message)
        self.traffic = traffic or []


class ResetDetected(Exception):
    """The MCU restarted (banner seen or axes no longer homed): its position is unknown."""


class LimitHit(ResetDetected):
    """An end-stop closed mid-move: the shaft is not where the step count says."""

    def __init__(self, axis: int):
        super().__init__(f"end-stop hit during a move on axis {axis}")
        self.axis = axis


class FirmwareError(Exception):
    def __init__(self, code: int, text: str, seq: int | None = None, traffic: list[str] | None = None):
        super().__init__(f"error {code}: {text}")
        self.code, self.text, self.seq = code, text, seq
        self.traffic = traffic or []  # the last lines on the wire, for a bug report


@dataclass
class Status:
    state: str
    homed: list[bool]
    pos: list[int]


def available_ports() -> list[str]:
    return [p.device for p in serial.tools.list_ports.comports()]


def _ports_hint() -> str:
    ports = available_ports()
    return f"available ports: {', '.join(ports)}" if ports else "no serial ports found (is the robot plugged in?)"


def open_serial(path: str) -> serial.Serial:
    try:
        # exclusive: a second program on the same robot would interleave commands
        return serial.Serial(path, BAUD, timeout=0, write_timeout=2, exclusive=True)
    except serial.SerialException as exc:
        msg = str(exc)
        if "exclusively lock" in msg or "Resource temporarily unavailable" in msg or "busy" in msg.lower():
            raise UserError(f"serial port {path} is busy (another program has it open); close it and retry") from None
        if "No such file" in msg or "could not open port" in msg:
            raise UserError(f"serial port {path} not found; {_ports_hint()}; pass --port or set robot.port") from None
        raise UserError(f"cannot open serial port {path}: {msg}; {_ports_hint()}") from None


def trapezoid_time(steps: int, speed: float, accel: float) -> float:
    """Seconds for a rest-to-rest move (trapezoid, or triangle when it never reaches speed)."""
    steps = abs(steps)
    if steps == 0:
        return 0.0
    ramp = speed * speed / accel
    if steps >= ramp:
        return steps / speed + speed / accel
    return 2.0 * math.sqrt(steps / accel)


class Link:
    """Request/reply over the serial line with sequence numbers, checksums and resends."""

    BAD = P.Line("bad", None)  # read_line(stop_on_bad=True): a damaged line arrived

    def __init__(self, ser: serial.Serial):
        self.ser = ser
        self.seq = random.randint(1, 60000)  # a fresh start never repeats the firmware's cached seq
        self._buf = b""
        self.events: list[P.Line] = []  # async reports not consumed yet
        self.resends = 0
        self.bad_lines = 0
        self.legacy_lines = 0  # valid lines of protocol 1.x (CRC-8): old firmware
        self.last_rx = time.monotonic()  # when the last byte (valid or not) arrived
        self.traffic: deque[str] = deque(maxlen=TRAFFIC_LINES)  # "> sent" / "< received", newest last

    def _note(self, direction: str, raw: bytes) -> None:
        text = raw.decode("ascii", "backslashreplace").strip()
        self.traffic.append(f"{direction} {text}")
        log.debug("%s %s", direction, text)

    def next_seq(self) -> int:
        self.seq = self.seq % 65535 + 1
        return self.seq

    def read_line(self, deadline: float, stop_on_bad: bool = False) -> P.Line | None:
        """Next valid line before the deadline; damaged lines are counted and skipped (or,
        with stop_on_bad, reported as Link.BAD)."""
        while True:
            line = self._buffered_line(stop_on_bad)
            if line is not None:
                return line
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._receive(min(left, 0.05))

    def _buffered_line(self, stop_on_bad: bool) -> P.Line | None:
        """Next valid line (or BAD) among the complete lines already received; None: none left."""
        while (nl := self._buf.find(b"\n")) >= 0:
            raw, self._buf = self._buf[:nl], self._buf[nl + 1 :]
            if not raw.strip():
                continue
            self._note("<", raw)
            line = P.parse(raw)
            if line is None:
                self.bad_lines += 1
                if P.is_legacy(raw):
                    self.legacy_lines += 1
                if stop_on_bad:
                    return self.BAD
                continue
            if line.kind == "banner":
                raise ResetDetected(" ".join(line.words))
            return line
        return None

    def _receive(self, timeout: float) -> None:
        """Whatever arrives within `timeout` (at least one byte if any) into the buffer."""
        self.ser.timeout = timeout
        chunk = self.ser.read(max(1, self.ser.in_waiting))
        if chunk:
            self.last_rx = time.monotonic()
            self._buf += chunk
            if len(self._buf) > 4096:  # garbage without newlines: keep the tail only
                self._buf = self._buf[-512:]

    def request(self, command: str, timeout: float = REPLY_TIMEOUT) -> P.Line:
        """Send once, resend the SAME sequence number on silence or a damaged line: the
        firmware answers a repeat from its cache without acting twice."""
        seq = self.next_seq()
        data = P.frame(seq, command)
        budget = sends_for(len(data))
        first = time.monotonic()
        for attempt in range(budget):
            if attempt:
                self.resends += 1
            # a leading newline ends any garbage the firmware may hold in its line buffer
            self.ser.write(b"\n" + data)
            self._note(">", data)
            reply = self._await_reply(seq, timeout)
            if reply is not None:
                return reply
            if self.legacy_lines >= 2:
                raise UserError(
                    f"the robot on {self.ser.port} runs rig-fw 1.x (CRC-8 lines); this rig needs "
                    f"{P.FW_MAJOR}.x: flash it with rig robot flash --port {self.ser.port}"
                )
            if time.monotonic() - max(self.last_rx, first) > SILENCE_S:
                break  # noise keeps bytes coming; a robot that is gone sends none
        log.debug("no answer to %r; last traffic:\n%s", command, "\n".join(self.traffic))
        raise NoAnswer(
            f"the robot on {self.ser.port} stopped answering ({attempt + 1} tries of '{command}' "
            f"in {time.monotonic() - first:.1f} s); check the cable and power, then retry",
            list(self.traffic),
        )

    def _await_reply(self, seq: int, timeout: float) -> P.Line | None:
        """The ok reply to request `seq` (an err reply raises FirmwareError); None: resend.
        Async reports that arrive meanwhile are kept in `events`."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(deadline, stop_on_bad=True)
            if line is None:
                return None  # silence, or a damaged reply and nothing since: resend
            if line is self.BAD:
                # most likely our reply: resend soon, but first take whatever follows
                deadline = min(deadline, time.monotonic() + QUICK_RESEND)
                continue
            if line.kind in ("ok", "err") and line.seq == seq:
                if line.kind == "err":
                    raise self._firmware_error(line, seq)
                return line
            if line.kind == "err" and line.seq is None:
                return None  # our line (or a fragment of it) arrived damaged: resend at once
            if line.kind not in ("ok", "err"):
                self.events.append(line)  # an async report: keep it for its waiter
                del self.events[:-32]  # reports nobody waits for must not pile up
            # else: a late reply to an earlier request (an older number): ignore

    def _firmware_error(self, line: P.Line, seq: int) -> FirmwareError:
        code = int(line.words[0]) if line.words and line.words[0].isdigit() else 0
        return FirmwareError(code, " ".join(line.words[1:]), seq, list(self.traffic))

    def take_event(self, seq: int) -> P.Line | None:
        for i, ev in enumerate(self.events):
            if ev.seq == seq or (ev.kind == "alarm" and ev.seq is None):
                return self.events.pop(i)
        return None


class KnobController:
    """Drives the knob robot for one plan. Open with KnobController.open(plan)."""

    def __init__(self, plan, link: Link, sim: Simulator | None = None):
        self.plan = plan
        self.robot = plan.robot
        self.link = link
        self.sim = sim
        self.knobs = {k.name: k for k in plan.knobs if k.axis is not None}
        self.axes = sorted(k.axis for k in self.knobs.values())
        self.banner = ""
        self.limits: dict[str, int] = {}  # maxrate, maxaccel, maxtravel from HELLO
        self.recoveries = 0
        self.limit_axes: set[int] = set()  # axes whose end-stop closed mid-move
        self._setup_travel = 0  # steps searched per axis by rig robot setup
        self.homed = False
        self.time_scale = sim.opts.timescale if sim else 1.0
        self._pos: list[int] | None = None  # last positions confirmed by the firmware

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(cls, plan, port: str | None = None) -> "KnobController":
        port = port or plan.robot.port
        sim = None
        if port.startswith("sim://"):
            rotations = [300.0] * 4
            for k in plan.knobs:
                if k.axis is not None:
                    rotations[k.axis] = k.rotation_deg
            sim = Simulator(parse_url(port), plan.robot.steps_per_rev, rotations).start()
            path = sim.pty
        else:
            path = port
        try:
            ctl = cls(plan, Link(open_serial(path)), sim)
            ctl._handshake()
            ctl._configure()
        except BaseException:
            if sim:
                sim.close()
            raise
        return ctl

    @property
    def shaft_file(self) -> str | None:
        return self.sim.shaft_file if self.sim else None

    def _handshake(self) -> None:
        """HELLO until the firmware answers; an Arduino reboots when the port opens, so allow
        a few seconds for its bootloader."""
        deadline = time.monotonic() + 5.0
        last = ""
        hellos = 0
        while time.monotonic() < deadline:
            try:
                reply = self.link.request("HELLO")
                hellos += 1
                if reply.words[:1] == [P.FW_NAME] or hellos > 1:
                    break
                # 1 in 65535: our random first number equals the firmware's last one from a
                # previous session, and the answer is that request's cached reply: ask again
            except ResetDetected as exc:
                last = str(exc)
            except NoAnswer:
                raise UserError(
                    f"no rig-fw firmware answers on {self.link.ser.port}; flash it with "
                    f"rig robot flash --port {self.link.ser.port}, or check the port; {_ports_hint()}"
                ) from None
        else:
            raise UserError(f"no answer from the robot on {self.link.ser.port} ({last or 'silence'})")
        words = reply.words
        if len(words) < 2 or words[0] != P.FW_NAME:
            raise UserError(
                f"{self.link.ser.port} answers but is not rig-fw ({' '.join(words)}); flash it with rig robot flash --port {self.link.ser.port}"
            )
        version = words[1]
        if version.split(".")[0] != str(P.FW_MAJOR):
            raise UserError(
                f"robot firmware is {version}, this rig needs {P.FW_MAJOR}.x; "
                f"flash it with rig robot flash --port {self.link.ser.port}"
            )
        self.banner = " ".join(words)
        fields = reply.fields()
        # the firmware states its own limits (2.0: maxrate; 2.1+ also maxaccel and maxtravel);
        # what it leaves out it refuses itself when out of range
        self.limits = {k: int(v) for k, v in fields.items() if k.startswith("max") and v.isdigit()}
        axes = int(fields.get("axes", "0"))
        if self.axes and max(self.axes) >= axes:
            raise UserError(f"the plan uses motor axis {max(self.axes)} but the robot has {axes} axes")

    def _configure(self) -> None:
        r = self.robot
        speed = max(1, min(self.limits.get("maxrate", math.inf), round(r.max_speed)))
        accel = max(1, min(self.limits.get("maxaccel", math.inf), round(r.acceleration)))
        # homing runs slower: it ends by pushing against the pot's stop
        hspeed = max(1, min(speed, 2000, round(speed / 2)))
        for k in self.knobs.values():
            # two short lines rather than one long one: on a noisy link the chance that a
            # round trip arrives intact falls with every byte
            self._call(f"CONFIG {k.axis} speed={speed} accel={accel} hspeed={hspeed}")
            self._call(f"CONFIG {k.axis} travel={r.travel_steps(k)} backlash={r.backlash} home={r.homing}")
            # 2.1+ (whose HELLO adds maxtravel) knows invert; 2.0 refuses the key and only ever
            # turns one way
            if "maxtravel" in self.limits or k.axis in r.invert_axes:
                self._call(f"CONFIG {k.axis} invert={int(k.axis in r.invert_axes)}")
        self._speed, self._accel, self._hspeed = speed, accel, hspeed

    # ---------------------------------------------------------------- plumbing
    def _call(self, command: str, timeout: float = REPLY_TIMEOUT) -> P.Line:
        try:
            return self.link.request(command, timeout)
        except FirmwareError as exc:
            if exc.code == P.E_ESTOP:
                raise UserError(
                    "the robot's e-stop is latched; release the button, then run "
                    "`rig robot clear` (or controller.clear()) and home again"
                ) from None
            if exc.code == P.E_NOT_HOMED:
                raise ResetDetected("axis not homed") from None
            raise

    def _wait_done(self, seq: int, expected: float, axes: list[int] | None = None) -> list[int] | None:
        """Wait for the job's !done; poll STATUS once it is late (the report may be lost to
        line noise). `expected` is the predicted job time in the robot's own (virtual)
        seconds. The job may run past 2x that plus a margin only while it is still making
        progress (a host or simulator starved of CPU is slow, not stuck), and never past
        5x plus a larger margin."""
        start = time.monotonic()
        soft = start + 2.0 * expected + 3.0
        hard = start + 5.0 * expected + 15.0
        # a fast-forwarded simulator finishes sooner: ask early, but keep the deadlines
        next_poll = start + expected / self.time_scale + 0.15
        last_pos: list[int] | None = None
        while True:
            ev = self.link.take_event(seq)
            if ev is not None:
                return self._check_event(ev)
            now = time.monotonic()
            if now >= next_poll:
                st = self.status()
                if st.state == "estop":
                    raise UserError(
                        "the robot's e-stop was triggered; release it, run `rig robot clear` and home again"
                    )
                if any(not st.homed[a] for a in (self.axes if axes is None else axes)) and st.state != "homing":
                    raise ResetDetected("axes lost their homing")
                if st.state == "idle":
                    ev = self.link.take_event(seq)
                    return self._check_event(ev) if ev is not None else st.pos
                now = time.monotonic()
                if now > hard or (now > soft and st.pos == last_pos):
                    raise UserError(
                        f"the robot did not finish within {now - start:.1f} s (predicted {expected:.1f} s, "
                        f"state {st.state}); check for a jammed knob or lower robot.max_speed"
                    )
                last_pos = st.pos
                next_poll = now + 0.25
            line = self.link.read_line(min(next_poll, time.monotonic() + 0.1))
            if line is not None and line.kind not in ("ok", "err"):
                self.link.events.append(line)

    def _check_event(self, ev: P.Line) -> list[int] | None:
        """The job's final report: positions for !done, an exception for anything else."""
        if ev.kind == "done":
            return P.parse_list(ev.fields()["pos"]) if "pos" in ev.fields() else None
        if ev.kind == "alarm":
            code = int(ev.words[0]) if ev.words and ev.words[0].isdigit() else 0
            if code == P.E_ESTOP:
                raise UserError("the robot's e-stop was triggered; release it, run `rig robot clear` and home again")
            if code == P.E_HOME_FAILED:
                raise UserError(
                    f"homing failed on axes {ev.fields().get('axes', '?')}: the end-stop never closed; "
                    "check its wiring or use robot.homing: hardstop"
                )
            raise UserError(f"robot alarm: {' '.join(ev.words)}")
        if ev.kind == "limit":
            axis = ev.fields().get("axis", "")
            raise LimitHit(int(axis) if axis.isdigit() else -1)
        return None  # any other report: nothing to check (as before, made explicit)

    # ---------------------------------------------------------------- public API
    def status(self) -> Status:
        f = self._call("STATUS").fields()
        return Status(f.get("state", "?"), [v == "1" for v in f.get("homed", "").split(",")], P.parse_list(f["pos"]))

    def home(self) -> None:
        for _ in range(MAX_RECOVERIES + 1):
            try:
                self._home_once()
                return
            except ResetDetected:
                self.recoveries += 1
                self._configure()
        raise UserError("the robot keeps resetting while homing; check its power supply")

    def _home_once(self) -> None:
        if not self.axes:
            return
        seq_line = self._call("HOME " + " ".join(map(str, self.axes)))
        travel = max(self.robot.travel_steps(k) for k in self.knobs.values())
        assert seq_line.seq is not None  # request() returns only the reply to its own seq
        self._wait_done(seq_line.seq, self._home_time(travel))
        st = self.status()
        if not all(st.homed[a] for a in self.axes):
            raise ResetDetected("homing did not complete")
        self.homed = True
        self._pos = st.pos

    def _home_time(self, travel: int) -> float:
        """Predicted homing time: the whole travel plus its margin and the re-seek, at hspeed."""
        return trapezoid_time(int(travel * 1.07) + 32, self._hspeed, self._accel)

    def steps_for(self, values: dict[str, float]) -> dict[int, int]:
        targets: dict[int, int] = {}
        for name, value in values.items():
            if name not in self.knobs:
                if any(k.name == name for k in self.plan.knobs):
                    continue  # a fixed knob: set by hand, nothing to move
                raise UserError(f"unknown knob '{name}'; knobs: {', '.join(k.name for k in self.plan.knobs)}")
            k = self.knobs[name]
            if not k.min <= value <= k.max:
                raise UserError(f"{name}={value:g} is outside the dial range {k.min:g}..{k.max:g}")
            targets[k.axis] = self.robot.steps_for(k, value)
        return targets

    def move_to(self, dial_values: dict[str, float]) -> dict[int, int]:
        """Move knobs to dial values; returns the confirmed axis positions in steps."""
        targets = self.steps_for(dial_values)
        if not targets:
            return {}
        for _ in range(MAX_RECOVERIES + 1):
            try:
                if not self.homed:
                    self._home_once()
                return self._move_once(targets)
            except LimitHit as hit:
                # once may be a lost step: re-home and redo; twice on one axis in a session
                # means its travel is wrong, and takes at the stalled settings would be too
                if hit.axis in self.limit_axes:
                    raise self._travel_error(hit.axis) from None
                self.limit_axes.add(hit.axis)
                self._recover()
            except ResetDetected:
                self._recover()
        raise UserError("the robot keeps resetting; check its power supply and cabling")

    def _recover(self) -> None:
        """Position unknown (reset, lost steps): configuration may be gone too (RAM); set up
        again, and the next move homes first."""
        self.recoveries += 1
        self.homed = False
        self._pos = None
        self.link.events.clear()
        self._configure()

    def _travel_error(self, axis: int) -> UserError:
        knob = next((k for k in self.knobs.values() if k.axis == axis), None)
        what = f"{knob.name} (axis {axis}, rotation_deg {knob.rotation_deg:g})" if knob else f"axis {axis}"
        return UserError(
            f"the end-stop of {what} closed mid-move twice: the knob turns less than the plan's "
            "travel, or its motor slips; measure it with `rig robot setup --plan PLAN`"
        )

    def _move_once(self, targets: dict[int, int]) -> dict[int, int]:
        if self._pos is None:
            st = self.status()
            if any(not st.homed[a] for a in self.axes):
                raise ResetDetected("not homed")
            self._pos = st.pos
        start = self._pos
        cmd = "MOVE " + " ".join(f"{a}:{s}" for a, s in sorted(targets.items()))
        try:
            reply = self._call(cmd)
        except FirmwareError as exc:
            if exc.code == P.E_LIMIT:
                raise UserError(
                    f"the robot refused {cmd}: outside the axis travel; check rotation_deg "
                    "and steps_per_rev in the plan"
                ) from None
            if exc.code == P.E_BUSY:
                self._call("STOP")
                # braking from full speed takes speed/accel (virtual) seconds: allow plenty
                self._wait_idle(3.0 * self._speed / self._accel + 5.0)
                raise ResetDetected("robot was busy") from None  # redo from a known state
            raise UserError(f"the robot refused {cmd}: {exc.text}") from None
        self._pos = None  # unknown until confirmed
        dist = max(abs(s - start[a]) + 2 * self.robot.backlash for a, s in targets.items())
        assert reply.seq is not None  # request() returns only the reply to its own seq
        pos = self._wait_done(reply.seq, trapezoid_time(dist, self._speed, self._accel))
        if pos is None:
            pos = self.status().pos
        # the firmware's own checked report must equal the target, else it is not done
        wrong = {a: pos[a] for a, s in targets.items() if pos[a] != s}
        if wrong:
            raise UserError(f"robot reports axes {wrong} instead of {targets}; the move was interrupted")
        self._pos = pos
        return {a: pos[a] for a in targets}

    def _wait_idle(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.status().state in ("idle", "estop"):
                return
            time.sleep(0.1)

    # ------------------------------------------------ one axis at a time (rig robot setup)
    def setup_axis(self, axis: int, travel: int, invert: bool) -> None:
        """Configure one axis outside the plan: hardstop homing over `travel` steps."""
        self._call(f"CONFIG {axis} travel={travel} backlash=0 home=hardstop")
        self._call(f"CONFIG {axis} invert={int(invert)}")
        self._setup_travel = travel

    def home_axis(self, axis: int) -> None:
        reply = self._call(f"HOME {axis}")
        assert reply.seq is not None  # request() returns only the reply to its own seq
        self._wait_done(reply.seq, self._home_time(self._setup_travel), [axis])

    def jog_to(self, axis: int, steps: int) -> None:
        """Move one homed axis to `steps` and wait; the shaft may stall against a stop."""
        reply = self._call(f"MOVE {axis}:{steps}")
        assert reply.seq is not None  # request() returns only the reply to its own seq
        self._wait_done(reply.seq, trapezoid_time(self._setup_travel, self._speed, self._accel), [axis])

    def park(self) -> None:
        """Rest position: every motorised knob fully counter-clockwise (dial minimum)."""
        self.move_to({k.name: k.min for k in self.knobs.values()})

    def stop(self) -> None:
        self._call("STOP")

    def estop(self) -> None:
        self.link.request("ESTOP")
        self.homed = False
        self._pos = None

    def clear(self) -> None:
        try:
            self.link.request("CLEAR")
        except FirmwareError as exc:
            raise UserError(f"cannot clear the e-stop: {exc.text}; release the button first") from None

    def close(self) -> None:
        try:
            self.link.ser.close()
        finally:
            if self.sim:
                self.sim.close()

    def __enter__(self) -> "KnobController":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
