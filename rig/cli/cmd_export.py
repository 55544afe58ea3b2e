"""`rig export`: re-export a trained model (TorchScript, ONNX, card), or take it to a plug-in:
`--nam` snapshots at knob settings, `--proteus` JSON. Argument parsing only."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    e = sub.add_parser(
        "export",
        help="re-export a trained model, or write NAM snapshots (--nam) / Proteus JSON (--proteus)",
        description="Without --nam/--proteus: re-export SESSION/train/NAME from best.pt (TorchScript, ONNX, card). "
        "--nam: write .nam files of the model frozen at knob settings (LSTM-Concat with a Linear head, "
        "e.g. models/lstm-c-32-nam.yaml). --proteus: write GuitarML Proteus JSON "
        "(models/lstm-c-40-proteus.yaml, one or two knobs).",
    )
    e.add_argument(
        "source",
        type=Path,
        metavar="SESSION|MODEL",
        help="a session (with --model NAME), or a model: export folder, train/<model> folder or .pt",
    )
    e.add_argument("--model", metavar="NAME", help="model name (folder under SESSION/train)")
    kind = e.add_mutually_exclusive_group()
    kind.add_argument("--nam", action="store_true", help="write NAM snapshots (.nam)")
    kind.add_argument("--proteus", action="store_true", help="write a GuitarML Proteus JSON file")
    e.add_argument(
        "--set", default="", metavar="KNOBS", help="--nam: dial values, e.g. gain=6,bass=4 (others: mid-range)"
    )
    e.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="K=A:B:N",
        help="--nam: N snapshots of knob K from A to B (repeatable: a grid), e.g. gain=0:10:11",
    )
    e.add_argument("--out", type=Path, help="--nam: folder (default: nam/ beside the model); --proteus: .json file")
    e.add_argument("--gear-type", choices=_nam().GEAR_TYPES, help="--nam metadata: gear type")
    e.add_argument("--tone-type", choices=_nam().TONE_TYPES, help="--nam metadata: tone type")
    e.set_defaults(func=run_export)


def _nam():
    from rig.export import nam

    return nam


def run_export(args) -> int:
    from rig.errors import UserError

    if not (args.nam or args.proteus):
        if args.model is None:
            raise UserError("rig export SESSION needs --model NAME (or --nam/--proteus with a model)")
        from rig.train.run import export_session

        for kind, path in export_session(args.source, args.model).items():
            print(f"{kind}: {path}")
        return 0
    from rig.export.snapshots import export_nam, export_proteus
    from rig.plan.locate import locate_trained_model
    from rig.session import TRAIN_DIR
    from rig.train.render import load_model, weights_path

    spec = args.source / TRAIN_DIR / args.model if args.model else locate_trained_model(args.source)
    loaded, home = load_model(spec), weights_path(spec).parent
    if args.proteus:
        if args.sweep or args.set:
            raise UserError("--proteus keeps the knobs live; --set and --sweep apply to --nam only")
        print(f"wrote {export_proteus(loaded, args.out or home / 'proteus' / f'{loaded.name}.json')}")
        return 0
    files = export_nam(loaded, args.set, args.sweep, args.out or home / "nam", args.gear_type, args.tone_type)
    for path in files:
        print(f"wrote {path}")
    return 0
