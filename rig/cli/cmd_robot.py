"""`rig robot`: set up and test the knob robot by hand (ports, home, move, status)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rig.errors import UserError


def register(subparsers) -> None:
    robot = subparsers.add_parser("robot", help="knob robot: list ports, home, move knobs, status")
    sub = robot.add_subparsers(dest="robot_command", metavar="ACTION")

    p = sub.add_parser("ports", help="list serial ports and simulators")
    p.set_defaults(func=cmd_ports)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--port", help="serial port or sim://native / sim://avr (default: the plan's robot.port)")
        p.add_argument("--plan", type=Path, help="capture plan or shipped name (knob names, axes, steps per rev)")

    p = sub.add_parser("home", help="home every motorised knob of the plan")
    common(p)
    p.set_defaults(func=cmd_home)

    p = sub.add_parser("move", help="home, then move knobs: rig robot move --plan P gain=5 bass=2.5")
    common(p)
    p.add_argument("values", nargs="+", metavar="KNOB=VALUE")
    p.set_defaults(func=cmd_move)

    p = sub.add_parser("status", help="firmware banner, state, homing and positions")
    common(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "setup",
        help="guided first run: find each knob's direction and travel, write them to the plan",
        description="Per motorised knob: home, jog and ask which way it turned, find the far stop by "
        "asking whether it still turns, then write rotation_deg and robot.invert_axes into "
        "the plan (the rest of the file is left as it is). Answers come from stdin.",
    )
    common(p)
    p.add_argument("--knob", action="append", metavar="NAME", help="set up only this knob (repeatable; default: all)")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("flash", help="upload the firmware to an Arduino with avrdude, then check its banner")
    p.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyACM0 (rig robot ports)")
    p.add_argument(
        "--board",
        choices=["uno", "nano", "nano-old"],
        default="uno",
        help="uno and nano: optiboot at 115200 baud; nano-old: old bootloader at 57600 (default uno)",
    )
    p.add_argument("--hex", type=Path, help="image to upload (default: firmware/build/rig-fw.hex, built if needed)")
    p.set_defaults(func=cmd_flash)

    p = sub.add_parser("clear", help="clear a latched e-stop (release the button first)")
    common(p)
    p.set_defaults(func=cmd_clear)
    robot.set_defaults(func=lambda _args: robot.print_help() or 2)


def _plan(path: Path | None):
    from rig.plan.models import Plan

    if path is None:  # no plan: four generic knobs, one per axis, with the default robot
        return Plan.model_validate({"knobs": [{"name": f"axis{i}", "axis": i} for i in range(4)]})
    from rig.plan import load_plan
    from rig.plan.locate import locate_plan

    return load_plan(locate_plan(path))


def _open(args):
    from rig.knobs import KnobController

    plan = _plan(args.plan)
    return plan, KnobController.open(plan, args.port or plan.robot.port)


def cmd_ports(_args) -> int:
    from rig.knobs.driver import available_ports
    from rig.knobs.simulator import simavr_available

    for port in available_ports():
        print(port)
    print("sim://native    firmware core simulated on this computer")
    print(f"sim://avr       AVR firmware in simavr{'' if simavr_available() else ' (not installed)'}")
    return 0


def _print_status(ctl) -> None:
    st = ctl.status()
    print(f"firmware: {ctl.banner}")
    print(f"state: {st.state}")
    for k in ctl.knobs.values():
        travel = ctl.robot.travel_steps(k)
        dial = k.min + (st.pos[k.axis] / travel) * (k.max - k.min) if travel else k.min
        homed = "homed" if st.homed[k.axis] else "NOT homed"
        print(f"  {k.name:<12} axis {k.axis}  {st.pos[k.axis]:>6} steps  dial {dial:6.2f}  {homed}")


def cmd_home(args) -> int:
    _, ctl = _open(args)
    with ctl:
        ctl.home()
        _print_status(ctl)
    return 0


def cmd_move(args) -> int:
    values: dict[str, float] = {}
    for item in args.values:
        name, eq, value = item.partition("=")
        if name in values:
            raise UserError(f"knob '{name}' is given twice ({name}={values[name]:g} and {item}); give each knob once")
        try:
            values[name] = float(value)
        except ValueError:
            eq = ""
        if not eq:
            raise UserError(f"'{item}' is not KNOB=VALUE; e.g. rig robot move --plan plan.yaml gain=5")
    _, ctl = _open(args)
    with ctl:
        ctl.steps_for(values)  # check names and ranges before homing
        ctl.home()
        ctl.move_to(values)
        _print_status(ctl)
    return 0


def cmd_status(args) -> int:
    _, ctl = _open(args)
    with ctl:
        _print_status(ctl)
    return 0


def cmd_setup(args) -> int:
    from rig.knobs.setup import GuidedSetup
    from rig.plan.locate import locate_plan

    if args.plan is None:
        raise UserError("rig robot setup writes what it finds into a plan; pass --plan PLAN")
    path = locate_plan(args.plan)
    plan, ctl = _open(args)
    with ctl:
        knobs = [k for k in ctl.knobs.values() if not args.knob or k.name in args.knob]
        unknown = set(args.knob or []) - {k.name for k in knobs}
        if unknown:
            raise UserError(f"no motorised knob {', '.join(sorted(unknown))} in {path}; knobs: {', '.join(ctl.knobs)}")
        results = GuidedSetup(ctl, input).run(knobs)
    _write_setup(path, plan, results)
    return 0


def _write_setup(path: Path, plan, results) -> None:
    """Each knob's rotation_deg, and robot.invert_axes (axes not set up this time keep theirs)."""
    from rig.plan.rewrite import update_plan_file

    done = {r.axis for r in results}
    inverted = {r.axis for r in results if r.inverted} | (set(plan.robot.invert_axes) - done)
    update_plan_file(
        path,
        {r.knob: {"rotation_deg": f"{r.rotation_deg:g}"} for r in results},
        {"invert_axes": f"[{', '.join(map(str, sorted(inverted)))}]"},
    )
    print(
        f"wrote {path}: "
        + ", ".join(f"{r.knob} {r.rotation_deg:g} deg{' (inverted)' if r.inverted else ''}" for r in results)
    )


def cmd_flash(args) -> int:
    from rig.knobs import KnobController
    from rig.knobs.flash import flash

    print(f"flashing {args.port} ({args.board}): {flash(args.port, args.board, args.hex)}")
    with KnobController.open(_plan(None), args.port) as ctl:  # the board restarts into the new firmware
        print(f"robot answers: {ctl.banner}")
    return 0


def cmd_clear(args) -> int:
    _, ctl = _open(args)
    with ctl:
        ctl.clear()
        print("e-stop cleared; home before moving")
    return 0
