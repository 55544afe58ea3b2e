"""`rig bench PART`: speed and accuracy benchmarks, printed as JSON (figures for notes)."""

from __future__ import annotations

import json


def _route(args):
    from rig.route.bench import bench_route

    return bench_route(sizes=(50, 100) if args.quick else (100, 500, 1000, 2000))


def _align(args):
    from rig.audio.bench import bench_align

    return bench_align(quick=args.quick)


def _sim(args):
    from rig.sim.bench import bench_all

    return {"devices": bench_all(seconds=2.0 if args.quick else 10.0)}


def _capture(args):
    from rig.capture.bench import bench_capture

    return bench_capture(plan=args.plan, quick=args.quick)


def _train(args):
    from rig.train.bench import bench_train

    return bench_train(quick=args.quick)


def _infer(args):
    from rig.train.bench import bench_infer

    return bench_infer(quick=args.quick)


BENCHES = {"route": _route, "align": _align, "sim": _sim, "capture": _capture, "train": _train, "infer": _infer}


def register(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print JSON figures")
    p.add_argument("part", choices=sorted(BENCHES), help="what to measure")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    p.add_argument("--plan", help="plan for benchmarks that need one (capture)")
    p.add_argument("--out", help="also write the JSON to this file")
    p.set_defaults(func=run)


def run(args) -> int:
    text = json.dumps(BENCHES[args.part](args), indent=2, default=str)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0
