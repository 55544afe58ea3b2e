"""`rig bench PART`: speed and accuracy benchmarks, printed as JSON (figures for notes)."""

from __future__ import annotations

import json

BENCHES = {
    "route": ("rig.route.bench", "bench_route"),
    "align": ("rig.audio.bench", "bench_align"),
    "sim": ("rig.sim.bench", "bench_sim"),
    "capture": ("rig.capture.bench", "bench_capture"),
    "train": ("rig.train.bench", "bench_train"),
    "infer": ("rig.train.bench", "bench_infer"),
}


def register(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print JSON figures")
    p.add_argument("part", choices=sorted(BENCHES), help="what to measure")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    p.add_argument("--plan", help="plan for benchmarks that need one (capture)")
    p.add_argument("--out", help="also write the JSON to this file")
    p.set_defaults(func=run)


def _arguments(args) -> dict:
    """Each benchmark's own keyword arguments from the shared flags."""
    if args.part == "route":
        return {"sizes": (50, 100) if args.quick else (100, 500, 1000, 2000)}
    return {"quick": args.quick} | ({"plan": args.plan} if args.plan else {})


def run(args) -> int:
    import importlib

    module, name = BENCHES[args.part]
    bench = getattr(importlib.import_module(module), name)
    result = bench(**_arguments(args))
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0
