"""`rig sim ...`: the simulated devices under test (argument parsing only; logic in rig.sim)."""

from __future__ import annotations

import sys
from pathlib import Path

from rig.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("sim", help="simulated devices under test (virtual amp and fuzz)")
    ssub = p.add_subparsers(dest="sim_command", metavar="SIM_COMMAND")

    d = ssub.add_parser("dut", help="run a simulated device: as a JACK client, or on a WAV file")
    d.add_argument("--jack", action="store_true", help="serve the device as JACK client ports NAME:in/NAME:out")
    d.add_argument(
        "--kind", choices=("amp", "fuzz"), default=None, help="device (default: the plan's device.simulator, else amp)"
    )
    d.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="K=V[,K=V]",
        help="knob dial values, e.g. gain=5,bass=3 (repeatable)",
    )
    d.add_argument("--shafts", type=Path, help="shaft-angle file published by the robot simulator")
    d.add_argument("--plan", type=Path, help="plan mapping motor axes to knobs (needed with --shafts)")
    d.add_argument("--name", default="dut", help="JACK client name (default dut)")
    d.add_argument("--server", default=None, help="JACK server name (default: the default server)")
    d.add_argument("--connect-in", default=None, metavar="PORT", help="connect PORT -> NAME:in")
    d.add_argument("--connect-out", default=None, metavar="PORT", help="connect NAME:out -> PORT")
    d.add_argument("--seed", type=int, default=0, help="noise seed")
    d.add_argument("--input", type=Path, help="offline: WAV file to process (instead of --jack)")
    d.add_argument("--output", type=Path, help="offline: where to write the processed WAV")
    d.set_defaults(func=_dut)

    r = ssub.add_parser("response", help="plot frequency response and I/O curves as PNG")
    r.add_argument("--kind", choices=("amp", "fuzz"), default="amp")
    r.add_argument("--out", type=Path, default=Path("out/sim"), help="output folder (default out/sim)")
    r.add_argument("--set", action="append", default=[], metavar="K=V[,K=V]", help="base knob values for the sweeps")
    r.set_defaults(func=_response)

    p.set_defaults(func=lambda _args: (p.print_help(), 2)[1])


def parse_sets(items: list[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in items:
        for part in filter(None, (s.strip() for s in item.split(","))):
            name, sep, val = part.partition("=")
            try:
                if not sep:
                    raise ValueError
                values[name.strip()] = float(val)
            except ValueError:
                raise UserError(
                    f"cannot read knob setting '{part}'; write NAME=VALUE, e.g. --set gain=5,bass=3"
                ) from None
    return values


def _load_plan(path: Path):
    if not path.is_file():
        raise UserError(
            f"plan file {path} not found; give the path of a plan YAML, e.g. capture_plans/marshall_jvm.yaml"
        )
    try:
        from rig.plan import load_plan  # the plan part's loader, when present

        return load_plan(path)
    except ImportError:
        pass
    import yaml
    from pydantic import ValidationError

    from rig.plan.models import Plan

    try:
        return Plan.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise UserError(f"plan {path} is not valid ({first}); fix the plan file") from None


def _knob_source(args):
    from rig.sim import shaft_knob_source

    if args.shafts is None:
        return None
    if args.plan is None:
        raise UserError("--shafts needs --plan to know which axis turns which knob; add --plan PLAN.yaml")
    try:
        from rig.knobs.shafts import ShaftReader
    except ImportError:
        raise UserError("the shaft-file reader (rig.knobs.shafts) is not installed; use --set instead") from None
    plan = _load_plan(args.plan)
    return shaft_knob_source(plan.knobs, ShaftReader(args.shafts).degrees)


def _device(args, sample_rate: int):
    from rig.sim import make_device

    kind = args.kind
    if kind is None and args.plan is not None:
        kind = _load_plan(args.plan).device.simulator
    dev = make_device(kind or "amp", sample_rate, seed=args.seed)
    try:
        dev.set_knobs(parse_sets(args.set))
    except (KeyError, ValueError) as exc:
        raise UserError(f"{exc.args[0]}; fix --set") from None
    return dev


def _dut(args) -> int:
    if args.jack == (args.input is not None):
        raise UserError("choose one: --jack (serve on JACK) or --input IN.wav --output OUT.wav (offline)")
    if args.jack:
        from rig.sim.jack_dut import run_jack_dut

        _device(args, 48000)  # knob and plan errors now, before touching the server
        source = _knob_source(args)

        def ready() -> None:
            print(
                f"rig: serving simulated device on JACK as {args.name}:in -> {args.name}:out (Ctrl-C stops)",
                file=sys.stderr,
                flush=True,
            )

        stats = run_jack_dut(
            lambda fs: _device(args, fs),
            source,
            client_name=args.name,
            servername=args.server,
            ready=ready,
            connect_in=args.connect_in,
            connect_out=args.connect_out,
        )
        print(f"rig: stopped after {stats.blocks} periods, {stats.xruns} xruns", file=sys.stderr)
        for err in stats.errors:
            print(f"rig: {err}", file=sys.stderr)
        return 1 if stats.errors else 0
    return _render(args)


def _render(args) -> int:
    import numpy as np
    import soundfile as sf

    if args.output is None:
        raise UserError("--input needs --output OUT.wav")
    try:
        x, fs = sf.read(str(args.input), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise UserError(f"cannot read {args.input} ({exc}); give a WAV file") from None
    from rig.sim.jack_dut import offline_render

    dev = _device(args, fs)
    y = offline_render(dev, np.ascontiguousarray(x[:, 0]), 4096)
    sf.write(str(args.output), y, fs, subtype="FLOAT")
    print(f"rig: wrote {args.output} ({len(y) / fs:.1f} s, peak {np.max(np.abs(y)) if len(y) else 0:.3f})")
    return 0


def _response(args) -> int:
    from rig.sim.response import BASE_KNOBS, plot_response

    base = parse_sets(args.set) or None
    if base:
        from rig.sim import make_device

        names = make_device(args.kind).knob_names
        unknown = sorted(set(base) - set(names))
        if unknown:
            raise UserError(f"unknown knob(s) {', '.join(unknown)} for {args.kind}; knobs are {', '.join(names)}")
        base = {**BASE_KNOBS[args.kind], **base}
    try:
        paths = plot_response(args.kind, args.out, base=base)
    except OSError as exc:
        raise UserError(f"cannot write plots to {args.out} ({exc.strerror}); choose another --out") from None
    for p in paths:
        print(p)
    return 0
