"""`rig plan PLAN`: validate a plan and summarise what capturing it means."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("plan", help="validate a capture plan and print a summary")
    p.add_argument("plan", nargs="?", help="plan YAML file or shipped name, e.g. marshall_jvm")
    p.add_argument("--list", action="store_true", help="list the plans a bare name can refer to")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--plot", metavar="PNG", help="save a plot of the route (knob values over takes)")
    p.add_argument("--no-route", action="store_true", help="skip route optimisation")
    p.add_argument("--settings", action="store_true", help="also list every sampled setting")
    p.set_defaults(func=run)


def run(args) -> int:
    from rig.errors import UserError
    from rig.plan import load_plan, sample_settings
    from rig.plan.locate import locate_plan
    from rig.plan.summary import plan_summary

    if args.list:
        return list_plans()
    if args.plan is None:
        raise UserError("give a plan (a YAML file or a shipped name such as demo); rig plan --list shows them")
    plan = load_plan(locate_plan(args.plan))
    settings = sample_settings(plan)
    summary = plan_summary(plan, settings)
    route = None
    if not args.no_route:
        from rig import route as routing

        route = routing.plan_route(plan, settings)
        summary["route"] = routing.summary(plan, settings, route)
        summary["route"].pop("order")
        if args.plot:
            routing.plot_route(plan, settings, route, Path(args.plot))
            summary["plot"] = args.plot
    if args.settings:
        summary["setting_list"] = [{"id": s.id, "split": s.split, **s.values} for s in settings]
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print(summary)
    return 0


def list_plans() -> int:
    """Name, device and file of every plan a bare name resolves to (the current folder's
    capture_plans/ first)."""
    from rig.errors import UserError
    from rig.plan import load_plan
    from rig.plan.locate import PLANS, search_dirs, shipped

    plans = shipped(PLANS)
    if not plans:
        print("no plans found (looked in ./capture_plans and the installed rig's capture_plans)")
        return 0
    rows = []
    for name, path in plans.items():
        try:
            device = load_plan(path).device.name or "-"
        except UserError as exc:
            device = f"(invalid: {exc})"
        rows.append((name, device, path))
    widths = [max(len(str(r[i])) for r in rows) for i in (0, 1)]
    for name, device, path in rows:
        print(f"{name:<{widths[0]}}  {device:<{widths[1]}}  {path}")
    print(f"searched: {', '.join(str(d) for d in search_dirs(PLANS))}")
    return 0


def _print(s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{s['device']}[/bold] {s['mode']}".rstrip())
    table = Table("knob", "axis", "range", "rotation", "sampled")
    for k in s["knobs"]:
        sampled = (
            f"fixed at {k['fixed']:g}"
            if k["fixed"] is not None
            else (f"detents {k['detents']}" if k["detents"] else "continuous")
        )
        table.add_row(
            k["name"],
            str(k["axis"] if k["axis"] is not None else "-"),
            f"{k['range'][0]:g}..{k['range'][1]:g}",
            f"{k['rotation_deg']:g} deg",
            sampled,
        )
    console.print(table)
    c = s["settings"]
    console.print(
        f"settings ({s['sampling']}): {s['total_settings']} = train {c['train']}, val {c['val']}, test {c['test']}"
    )
    console.print(
        f"audio: {s['take_seconds']:g} s per take, {s['audio_minutes']:g} min in all, "
        f"{s['sample_rate']} Hz via {s['interface']}; robot on {s['robot_port']}"
    )
    if "active" in s:
        _print_active(console, s["active"])
    if "route" in s:
        _print_route(console, s["route"], s.get("active"))
    if "plot" in s:
        console.print(f"route plot: {s['plot']}")
    for line in s.get("setting_list", []):
        console.print(json.dumps(line))


def _print_active(console, a: dict) -> None:
    budget = f"{a['budget_takes']} takes" + (
        f" (about {a['budget_minutes']:g} min)" if a["budget_minutes"] is not None else ""
    )
    console.print(
        f"active: budget {budget} train+val, then test; {a['batches']} batch(es) of up to {a['batch']} "
        f"proposed by the trainer ({a['proposed_takes']} takes; pool {a['pool']}, "
        f"timeout {a['proposal_timeout_s']:g} s, then Sobol; min distance {a['min_distance']:g})"
    )
    console.print(f"initial batch and val ({len(a['initial'])}, Sobol, recorded after the test settings):")
    for row in a["initial"]:
        values = ", ".join(f"{k}={v:g}" for k, v in row.items() if k not in ("id", "split"))
        console.print(f"  {row['id']:>4} {row['split']:<5} {values}")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.2f} h"


def _print_route(console, r: dict, active: dict | None = None) -> None:
    console.print(
        f"route ({r['solver_status']}, {r['solve_s']:.1f} s): moves {_minutes(r['route_move_s'])} "
        f"vs plan order {_minutes(r['plan_order_move_s'])}, nearest neighbour {_minutes(r['nearest_neighbour_move_s'])} "
        f"(lower bound {_minutes(r['lower_bound_move_s'])})"
    )
    if r.get("message"):
        console.print(f"  {r['message']}")
    b = r["capture_breakdown_s"]
    parts = ", ".join(f"{k.removesuffix('_s')} {_minutes(v)}" for k, v in b.items() if k.endswith("_s"))
    parts += f"; {b['takes']:.0f} takes incl. {b['reference_takes']:.0f} drift references"
    console.print(f"[bold]estimated capture time: {_minutes(r['estimated_capture_s'])}[/bold] ({parts})")
    if active:
        console.print(
            f"  plus about {_minutes(active['proposed_s'])} for the {active['proposed_takes']} proposed takes"
        )
