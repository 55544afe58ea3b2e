"""`rig bench PART`: speed and accuracy benchmarks, printed as JSON (figures for notes)."""

from __future__ import annotations

import json


def _route(args):
    from rig.route.bench import bench_route, best_known

    if args.best_known:  # the README's "vs best-known" figure: N = 2000, 8 minutes
        return best_known(100 if args.quick else 2000, args.best_known)
    return bench_route(sizes=(50, 100) if args.quick else (100, 500, 1000, 2000))


def _align(args):
    from rig.audio.bench import bench_align

    return bench_align(quick=args.quick)


def _sim(args):
    from rig.sim.bench import bench_all

    return {"devices": bench_all(seconds=2.0 if args.quick else 10.0)}


def _capture(args):
    from rig.capture.bench import bench_capture, bench_capture_jack

    if getattr(args, "jack", False):
        return bench_capture_jack(plan=args.plan, quick=args.quick)
    return bench_capture(plan=args.plan, quick=args.quick)


def _train(args):
    from rig.train.bench import bench_train

    return bench_train(quick=args.quick)


def _infer(args):
    from rig.train.bench import bench_infer

    return bench_infer(quick=args.quick)


def _quality(args):
    from rig.train.quality import bench_quality

    return bench_quality(
        plan=args.plan,
        budgets=args.budget_minutes or ([] if args.budget_steps else [10.0]),
        step_budgets=args.budget_steps,
        threads=args.threads or 2,
        seed=args.seed,
        cache=args.cache,
        model=args.model,
        device=args.device or "cpu",
        quiet=not args.verbose,
    )


def _active(args):
    from rig.train.active_bench import STRATEGIES, bench_active

    return bench_active(
        plan=args.plan,
        model=args.model,
        seeds=args.seeds,
        strategies=tuple(args.strategy or STRATEGIES),
        steps_per_take=args.steps_per_take,
        threads=args.threads or 2,
        out=args.out,
        quiet=not args.verbose,
    )


def _sweep(args):
    from rig.train.sweep_bench import bench_sweep

    return bench_sweep(cache=args.cache, quiet=not args.verbose)


def _play(args):
    from rig.play.bench import bench_play, bench_play_jack

    if getattr(args, "jack", False):
        return bench_play_jack(quick=args.quick)
    return bench_play(quick=args.quick)


def _verify(args):
    from rig.session.bench import bench_verify

    return bench_verify(quick=args.quick)


BENCHES = {
    "verify": _verify,
    "play": _play,
    "quality": _quality,
    "active": _active,
    "sweep": _sweep,
    "route": _route,
    "align": _align,
    "sim": _sim,
    "capture": _capture,
    "train": _train,
    "infer": _infer,
}


def register(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print JSON figures")
    p.add_argument("part", choices=sorted(BENCHES), help="what to measure")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    p.add_argument("--plan", help="plan for benchmarks that need one (capture)")
    p.add_argument(
        "--best-known",
        type=float,
        metavar="SECONDS",
        help="route: compare the default solve with a long best-known run of this many seconds",
    )
    q = p.add_argument_group("quality")
    q.add_argument(
        "--budget-minutes",
        type=float,
        action="append",
        metavar="MIN",
        help="quality: training budget (repeatable, one run each; default 10)",
    )
    q.add_argument(
        "--budget-steps",
        type=int,
        action="append",
        metavar="N",
        help="quality: a budget of N optimizer steps instead of minutes (repeatable): the same training on a busy machine",
    )
    q.add_argument("--threads", type=int, help="quality: torch threads (default 2)")
    q.add_argument(
        "--seed", type=int, help="quality: settings/program seed of the simulated session (default: the plan's)"
    )
    q.add_argument("--cache", help="quality, sweep: where simulated sessions are kept (default ~/.cache/rig/bench)")
    q.add_argument("--model", help="quality: model config (default models/tcn-tvf-45-s-16.yaml)")
    q.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="quality: training device (default cpu)")
    q.add_argument("--verbose", action="store_true", help="quality: show the simulated capture's progress")
    a = p.add_argument_group("active (also --plan, --model, --threads, --verbose)")
    a.add_argument("--seeds", type=int, default=3, help="active: seeds per strategy (default 3)")
    a.add_argument(
        "--steps-per-take", type=int, default=30, help="active: optimizer steps per train/val take (default 30)"
    )
    a.add_argument("--strategy", action="append", help="active: active, sobol or grid (repeatable; default all three)")
    p.add_argument("--out", help="also write the JSON to this file (active: and the plot beside it, .png)")
    p.add_argument(
        "--jack",
        action="store_true",
        help="capture: xruns per minute of the --sim --jack audio path; play: xruns of `rig play` on a JACK server",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    text = json.dumps(BENCHES[args.part](args), indent=2, default=str)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0
