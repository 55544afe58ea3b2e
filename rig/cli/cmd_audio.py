"""`rig devices` and `rig calibrate` (argument parsing only; logic in rig.audio)."""

from __future__ import annotations

import json
from pathlib import Path

from rig.errors import UserError


def register(sub) -> None:
    d = sub.add_parser("devices", help="list the audio devices PortAudio can see")
    d.add_argument("--json", action="store_true", help="print JSON instead of a table")
    d.set_defaults(func=_devices)

    c = sub.add_parser("calibrate", help="play a test tone and sweep; report levels, headroom, a suggested level")
    c.add_argument("--plan", type=Path, required=True, help="capture plan (audio interface, channels, levels)")
    c.add_argument("--sim", action="store_true", help="use the virtual interface and the plan's simulated device")
    c.add_argument("--json", action="store_true", help="print JSON instead of text")
    c.set_defaults(func=_calibrate)


def _devices(args) -> int:
    from rig.audio.portaudio import describe_devices, list_devices

    devices = list_devices()
    if not devices:
        raise UserError(describe_devices(devices))
    if args.json:
        print(json.dumps(devices, indent=2))
        return 0
    print(f"{'#':>3}  {'name':40} {'host API':28} {'in':>3} {'out':>4}  rate")
    for d in devices:
        print(
            f"{d['index']:>3}  {d['name'][:40]:40} {d['hostapi'][:28]:28} {d['inputs']:>3} {d['outputs']:>4}  "
            f"{d['default_samplerate']:.0f}"
        )
    print(
        "use a name (or part of it) as audio.interface in the plan, or a preset: scarlett-solo, scarlett-2i2, motu-m4"
    )
    return 0


def _calibrate(args) -> int:
    from rig.audio.calibrate import calibrate
    from rig.audio.interface import open_interface
    from rig.plan import load_plan, reference_setting

    plan = load_plan(args.plan)
    if args.sim:
        iface = _sim_interface(plan, reference_setting(plan).values)
    else:
        iface = open_interface(plan.audio)
    report = calibrate(plan, iface)
    print(json.dumps(report, indent=2) if args.json else _text(report))
    return 0


def _sim_interface(plan, knobs: dict):
    from rig.audio.virtual import VirtualInterface
    from rig.sim import make_device

    device = make_device(plan.device.simulator, sample_rate=plan.audio.sample_rate)
    device.set_knobs(knobs)
    return VirtualInterface(device, sample_rate=plan.audio.sample_rate, blocksize=plan.audio.blocksize)


def _text(r: dict) -> str:
    lines = [f"test signal peak {r['send_peak_dbfs']:.1f} dBFS (the program's loudest)"]
    for k, v in r["levels"].items():
        extra = f", headroom {v['headroom_db']:.1f} dB" if "headroom_db" in v else ""
        lines.append(f"  {k:9} peak {v['peak_dbfs']:7.1f} dBFS, rms {v['rms_dbfs']:7.1f} dBFS{extra}")
    nf = r["noise_floor_dbfs"]
    lines.append(f"  noise floor: loopback {nf['loopback']:.1f} dBFS, return {nf['return']:.1f} dBFS")
    for key in ("send_peak_dbu", "return_peak_dbu"):
        if key in r:
            lines.append(f"  {key.replace('_', ' ')}: {r[key]:.1f} dBu")
    lines += [f"suggestion: {n}" for n in r["suggestion"]["notes"]]
    return "\n".join(lines)
