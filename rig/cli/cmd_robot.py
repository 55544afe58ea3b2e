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
        p.add_argument("--plan", type=Path, help="capture plan (knob names, axes, steps per rev)")

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

    p = sub.add_parser("clear", help="clear a latched e-stop (release the button first)")
    common(p)
    p.set_defaults(func=cmd_clear)
    robot.set_defaults(func=lambda args: robot.print_help() or 2)


def _plan(path: Path | None):
    from rig.plan.models import Plan

    if path is None:  # no plan: four generic knobs, one per axis, with the default robot
        return Plan.model_validate({"knobs": [{"name": f"axis{i}", "axis": i} for i in range(4)]})
    try:
        from rig.plan import load_plan  # the plan part's loader, once present
    except ImportError:
        load_plan = None
    if load_plan is not None:
        return load_plan(path)
    import yaml

    if not path.exists():
        raise UserError(f"plan {path} not found; pass --plan with a capture plan YAML")
    try:
        return Plan.model_validate(yaml.safe_load(path.read_text()))
    except Exception as exc:  # pydantic / yaml: one line for the user
        raise UserError(f"plan {path} is invalid: {str(exc).splitlines()[0]}") from None


def _open(args):
    from rig.knobs import KnobController

    plan = _plan(args.plan)
    return plan, KnobController.open(plan, args.port or plan.robot.port)


def cmd_ports(args) -> int:
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


def cmd_clear(args) -> int:
    _, ctl = _open(args)
    with ctl:
        ctl.clear()
        print("e-stop cleared; home before moving")
    return 0
