"""`rig train`, `rig render`: argument parsing only; the work is in rig.train."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train models on a session (--follow: while it is captured)",
        description="Train the plan's models (or --model configs) on a session folder, test on the "
        "held-out settings, export and write train/report.md. Resumes from train/<model>/last.pt.",
    )
    p.add_argument("session", type=Path, metavar="SESSION", help="session folder written by rig capture")
    p.add_argument(
        "--follow",
        action="store_true",
        help="start once enough takes exist, add new takes as they arrive, "
        "and stop following when the capture has finished or aborted",
    )
    p.add_argument(
        "--model", action="append", metavar="YAML", help="model config (repeatable; default: the plan's train.models)"
    )
    p.add_argument(
        "--budget-minutes",
        type=float,
        help="training budget after capture ended, shared by the models (default: the plan's train.budget_minutes)",
    )
    p.add_argument(
        "--patience",
        type=int,
        help="stop after this many epochs without a better val loss (default: the config's early_stop_patience "
        "for a plateau schedule; a cosine schedule runs to the budget)",
    )
    p.add_argument("--epoch-segments", type=int, default=16, help="segments per epoch (default 16)")
    p.add_argument("--batch-size", type=int, help="segments per batch (default: 8 on a CPU, 32 on a GPU)")
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda", "mps"],
        default="auto",
        help="where to train (default auto: CUDA when present, else the CPU); a GPU also "
        "gets 3 s segments, mixed precision and pinned memory",
    )
    p.add_argument("--max-epochs", type=int, help="stop after this many epochs")
    p.add_argument(
        "--input", choices=["dry", "loopback"], default="dry", help="model input: dry as sent (default) or loopback"
    )
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--fresh", action="store_true", help="ignore existing checkpoints and start over")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    s = p.add_argument_group("sweep (Ray Tune; pip install -e .[cluster])")
    s.add_argument(
        "--sweep", metavar="SWEEP.yaml", help="train every trial of a sweep file (default: the plan's train.sweep)"
    )
    s.add_argument("--concurrent", type=int, metavar="N", help="trials at once (default: cores / threads per trial)")
    s.add_argument("--address", help="existing Ray cluster (default: RAY_ADDRESS, else a local Ray)")
    p.set_defaults(func=run_train)

    r = sub.add_parser("render", help="process a WAV file with a trained model at given knob values")
    r.add_argument("--model", required=True, metavar="M", help="export folder, train/<model> folder, model.json or .pt")
    r.add_argument("--set", default="", metavar="KNOBS", help="dial values, e.g. gain=6,bass=4 (others: mid-range)")
    r.add_argument("--block", type=int, default=4096, help="streaming block size in samples (default 4096)")
    r.add_argument("input", type=Path, metavar="in.wav")
    r.add_argument("output", type=Path, metavar="out.wav")
    r.set_defaults(func=run_render)

    # `rig export` (re-export, --nam, --proteus) lives in cmd_export.py


def run_train(args) -> int:
    import sys

    from rig.train.run import train_session
    from rig.train.trainer import TrainOptions

    opts = TrainOptions(
        follow=args.follow,
        budget_minutes=args.budget_minutes,
        patience=args.patience,
        epoch_segments=args.epoch_segments,
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        input_kind=args.input,
        threads=args.threads,
        fresh=args.fresh,
        progress=not args.quiet,
        device=args.device,
    )
    sweep = sweep_for(args)
    if sweep is not None:
        return run_sweep_cli(args, sweep, opts)
    from rig.plan.locate import locate_model_config

    models = [str(locate_model_config(m)) for m in args.model] if args.model else None  # bare names too
    for r in train_session(args.session, models, opts):
        test = f"test ESR {r.test['esr']:.4f}" if r.test else "no test takes"
        line = f"{r.model}: {r.status}" + (f" ({r.message})" if r.message else "")
        print(
            line + (f", {test}" if r.status == "finished" else ""),
            file=sys.stderr if r.status != "finished" else sys.stdout,
        )
    return 0


def sweep_for(args):
    """The sweep to run: --sweep, else the plan's train.sweep, else (capture's automatic training of
    several models, with Ray installed) the plan's models as a sweep at their own learning rates."""
    if args.model:
        return None
    from rig.session import Session
    from rig.train.sweep_file import load_sweep, plan_sweep

    return load_sweep(args.sweep) if args.sweep else plan_sweep(Session.open(args.session), args.follow)


def run_sweep_cli(args, sweep, opts) -> int:
    from rig.train.sweep import SweepOptions, run_sweep

    out = run_sweep(args.session, sweep, opts, SweepOptions(args.concurrent, args.threads, args.address))
    for t in out["trials"]:
        loss = "-" if t["best_val_loss"] is None else f"{t['best_val_loss']:.4g}"
        print(f"{t['trial']}: {t['status']}, {t['epochs']} epochs, best val loss {loss}")
    r = out["result"]
    if r is not None:
        test = f"test ESR {r.test['esr']:.4f}" if r.test else "no test takes"
        print(f"best: {r.model}, {test}; report {out['report']}")
    return 0


def run_render(args) -> int:
    from rig.plan.locate import locate_trained_model
    from rig.train.render import render_file

    info = render_file(locate_trained_model(args.model), args.set, args.input, args.output, args.block)
    knobs = ", ".join(f"{k}={v:g}" for k, v in info["knobs"].items())
    print(f"wrote {info['out']} ({info['samples']} samples at {knobs})")
    return 0
