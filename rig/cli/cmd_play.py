"""`rig play`: play through a trained model in real time. Argument parsing only (rig.play)."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "play",
        help="play through a trained model in real time (JACK or PortAudio), knobs live",
        description="Stream the input (or --input FILE) through the model and out. Type "
        "knob=value lines (gain=6,bass=4) to turn knobs (glided over ~20 ms), "
        "'bypass' for A/B, 'status', 'quit'. Reports latency, CPU per period and xruns.",
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="M",
        help="export folder, train/<model> folder, model.json, .pt, or a model name "
        "(./train/NAME or the newest ./sessions/*/train/NAME)",
    )
    p.add_argument("--set", default="", metavar="KNOBS", help="starting dial values, e.g. gain=6,bass=4")
    p.add_argument("--input", type=Path, metavar="FILE", help="play this file instead of the live input")
    p.add_argument("--loop", action="store_true", help="with --input: repeat the file until quit")
    p.add_argument("--portaudio", action="store_true", help="use PortAudio instead of JACK")
    p.add_argument("--server", help="JACK server name (default: the default server)")
    p.add_argument(
        "--connect-in", action="append", metavar="PORT", help="JACK port to take input from (default: system:capture_1)"
    )
    p.add_argument(
        "--connect-out", action="append", metavar="PORT", help="JACK port to send to (default: system:playback_1/2)"
    )
    p.add_argument("--device", help="PortAudio device (default: the default device)")
    p.add_argument("--period", type=int, default=256, help="PortAudio frames per period (JACK: the server's)")
    p.add_argument(
        "--runtime",
        default="auto",
        choices=["auto", "onnx", "torchscript", "eager"],
        help="model runtime (default auto: the faster measured for the model's family)",
    )
    p.add_argument("--glide-ms", type=float, default=20.0, help="knob glide time constant (default 20 ms; 0: none)")
    p.add_argument("--bypass", action="store_true", help="start bypassed (type 'bypass' to toggle)")
    p.add_argument("--midi", nargs="?", const="", metavar="PORT", help="take knobs from MIDI CC (default: first port)")
    p.add_argument("--cc", metavar="MAP", help="MIDI CC to knob, e.g. 20=gain,21=bass (default: CC 20, 21, ...)")
    p.add_argument(
        "--dashboard",
        metavar="URL",
        help="attach to a running dashboard (the URL it printed, with ?token=): its Play panel moves the knobs",
    )
    p.add_argument("--no-terminal", action="store_true", help="do not read knob lines from the terminal")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run_play)


def run_play(args) -> int:
    from rig.errors import UserError
    from rig.plan.locate import locate_trained_model
    from rig.play.player import PlayOptions, play

    if args.loop and not args.input:
        raise UserError("--loop needs --input FILE")
    if args.dashboard:
        from rig.play.dashboard_link import attach_url

        attach_url(args.dashboard)  # a malformed or remote URL: one line before the model loads
    if args.glide_ms < 0 or args.period < 16:
        raise UserError("--glide-ms must be >= 0 and --period at least 16 frames")
    play(
        PlayOptions(
            model=str(locate_trained_model(args.model)),
            settings=args.set,
            input=args.input,
            loop=args.loop,
            backend="portaudio" if args.portaudio else "jack",
            server=args.server,
            connect_in=args.connect_in,
            connect_out=args.connect_out,
            device=args.device,
            period=args.period,
            runtime=args.runtime,
            glide_ms=args.glide_ms,
            bypass=args.bypass,
            midi=args.midi,
            cc=args.cc,
            terminal=not args.no_terminal,
            dashboard=args.dashboard,
            quiet=args.quiet,
        )
    )
    return 0
