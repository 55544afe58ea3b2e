"""`rig capture`: run a capture plan on the rig (or the simulated rig with --sim)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "capture",
        help="capture a plan: move the knobs, record every setting, train",
        description="Capture every setting of a plan into a session folder. "
        "Ctrl-C stops after the current take (resumable); twice aborts at once.",
    )
    p.add_argument(
        "--plan",
        type=Path,
        help="plan YAML or shipped name, e.g. demo or capture_plans/demo.yaml (with --resume: optional)",
    )
    p.add_argument("--session", type=Path, help="new session folder (default sessions/<plan>-<date>-<time>)")
    p.add_argument("--resume", type=Path, metavar="DIR", help="continue the session in DIR")
    p.add_argument("--sim", action="store_true", help="simulated rig: robot simulator and virtual device")
    p.add_argument(
        "--jack", action="store_true", help="with --sim: real audio path (jackd dummy, DUT client, PortAudio)"
    )
    p.add_argument(
        "--pace",
        choices=["fast", "realtime"],
        help="with --sim (virtual audio): record as fast as the CPU allows, or at a real interface's pace "
        "(default: realtime for an active plan with its trainer, else fast)",
    )
    p.add_argument("--no-train", dest="train", action="store_false", help="do not start the trainer")
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda", "mps"],
        default="auto",
        help="where the automatic training runs (default auto: CUDA when present, else the CPU)",
    )
    p.add_argument(
        "--dashboard",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve the browser dashboard (default on)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="dashboard address (default 127.0.0.1); another address needs --allow-remote",
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host and any Host header (other machines can read the session; "
        "the printed token controls the run)",
    )
    p.add_argument("--port", type=int, default=8765, help="dashboard port (default 8765; a busy port picks a free one)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from rig.capture import CaptureOptions, run_capture
    from rig.capture.control import Aborted
    from rig.errors import UserError

    if args.session and args.resume:
        raise UserError("give either --session (new session) or --resume (existing one), not both")
    if args.jack and not args.sim:
        raise UserError("--jack is the simulated rig's real audio path; use it with --sim")
    if args.pace and (not args.sim or args.jack):
        raise UserError("--pace sets the virtual audio path's speed; use it with --sim and without --jack")
    if args.dashboard:  # before the session exists: a refused host must not leave a half-made one
        from rig.dashboard.launch import check_capture_host

        check_capture_host(args.host, args.allow_remote)
    if args.train and args.device != "auto":  # refuse a missing device before anything moves
        from rig.train.device import resolve_device

        resolve_device(args.device)
    if args.plan is not None:  # a bare name (marshall_jvm) is a shipped plan
        from rig.plan.locate import locate_plan

        args.plan = locate_plan(args.plan)
    opts = CaptureOptions(
        plan_file=args.plan,
        session=args.session,
        resume=args.resume,
        sim=args.sim,
        jack=args.jack,
        pace=args.pace,
        train=args.train,
        dashboard=args.dashboard,
        host=args.host,
        port=args.port,
        allow_remote=args.allow_remote,
        quiet=args.quiet,
        train_device=args.device,
    )
    try:
        return run_capture(opts)
    except Aborted:  # a second Ctrl-C during start-up or tear-down: committed takes are safe
        print(
            f"rig: aborted; continue with: rig capture --resume {args.resume or args.session or 'SESSION'}",
            file=sys.stderr,
        )
        return 130
