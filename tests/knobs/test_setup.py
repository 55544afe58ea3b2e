"""`rig robot setup` against the native simulator, whose pots turn less than the plan claims
and one of whose motors is wired the other way. The person answering is scripted: in the
first test they watch the simulated shafts, in the second their answers come on stdin."""

from __future__ import annotations

import io
import sys

import pytest

from rig.cli.main import main
from rig.errors import UserError
from rig.knobs import KnobController, ShaftReader, Simulator, parse_url
from rig.knobs.setup import GuidedSetup
from rig.plan import load_plan
from rig.plan.models import Plan

SPR = 1600
PLAN = """\
# a plan a user wrote; setup must change only what it measured
version: 1
knobs:
  - {name: gain, axis: 0, label: G}     # comment kept
  - name: bass
    axis: 1
    rotation_deg: 300
  - {name: volume, fixed: 5}
robot:
  port: sim://native
  steps_per_rev: 1600
  max_speed: 4000
  acceleration: 20000
"""


class WatchingPerson:
    """Answers as someone watching the knobs would: from the real (simulated) shaft angles
    just before and after each jog."""

    def __init__(self, ctl: KnobController, reader: ShaftReader):
        self.reader, self.before = reader, [0.0] * 4
        self.axis_of = {k.name: k.axis for k in ctl.knobs.values()}
        jog = ctl.jog_to

        def watched_jog(axis: int, steps: int) -> None:
            self.before = self.reader.degrees()
            jog(axis, steps)

        ctl.jog_to = watched_jog  # type: ignore[method-assign]

    def __call__(self, question: str) -> str:
        axis = self.axis_of[next(name for name in self.axis_of if question.startswith(name) or f" {name} " in question)]
        moved = self.reader.degrees()[axis] - self.before[axis]
        if question.startswith("Which way"):
            return "max" if moved > 0 else "min"
        return "y" if abs(moved) > 0.3 else "n"


def test_setup_finds_direction_and_travel_and_the_plan_then_moves_right(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    plan = load_plan(path)
    truth = "sim://native?timescale=20&seed=4&rotation=270,241&reversed=1"
    with Simulator(parse_url(truth), SPR, [300.0] * 4) as sim, KnobController.open(plan, sim.pty) as ctl:
        reader = ShaftReader(sim.shaft_file)
        results = GuidedSetup(ctl, WatchingPerson(ctl, reader), say=lambda _: None).run(list(ctl.knobs.values()))
    by_knob = {r.knob: r for r in results}
    assert not by_knob["gain"].inverted
    assert by_knob["bass"].inverted
    assert abs(by_knob["gain"].rotation_deg - 270) <= 1.0
    assert abs(by_knob["bass"].rotation_deg - 241) <= 1.0

    # written back: the measured values, nothing else changed
    from rig.plan.rewrite import update_plan_file

    update_plan_file(path, {r.knob: {"rotation_deg": f"{r.rotation_deg:g}"} for r in results}, {"invert_axes": "[1]"})
    text = path.read_text()
    assert "# comment kept" in text
    assert text.startswith("# a plan a user wrote")
    fixed = load_plan(path)
    assert fixed.robot.invert_axes == [1]
    assert fixed.knob("gain").rotation_deg == by_knob["gain"].rotation_deg

    # the fixed plan drives the same (mis-wired, short) pots to the right angles
    with Simulator(parse_url(truth), SPR, [300.0] * 4) as sim, KnobController.open(fixed, sim.pty) as ctl:
        reader = ShaftReader(sim.shaft_file)
        ctl.home()
        for value in (10, 5, 0, 7.5):
            ctl.move_to({"gain": value, "bass": value})
            deg = reader.degrees()
            assert abs(deg[0] - value / 10 * 270) <= 1.5, (value, deg)
            assert abs(deg[1] - value / 10 * 241) <= 1.5, (value, deg)


def test_setup_cli_reads_answers_from_stdin_and_rewrites_the_plan(tmp_path, monkeypatch, capsys):
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    # gain really turns 270 degrees, the right way: it turns up (max); coarse 15-degree jogs
    # follow it to 270 (18 yes), not to 285; fine 2-degree jogs from 255 follow it to 271
    # (8 yes: the last one part of the way), not to 273
    answers = ["max"] + ["y"] * 18 + ["n"] + ["y"] * 8 + ["n"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(answers) + "\n"))
    port = "sim://native?timescale=20&seed=2&rotation=270"
    assert main(["robot", "setup", "--plan", str(path), "--port", port, "--knob", "gain"]) == 0
    assert "gain 270 deg" in capsys.readouterr().out
    plan = load_plan(path)
    assert plan.knob("gain").rotation_deg == 270
    assert plan.knob("bass").rotation_deg == 300
    assert plan.robot.invert_axes == []
    assert "  - {name: gain, axis: 0, label: G, rotation_deg: 270}     # comment kept" in path.read_text()


def test_setup_without_answers_is_one_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["robot", "setup", "--plan", str(path), "--port", "sim://native?timescale=20", "--knob", "gain"]) == 2
    err = capsys.readouterr().err.strip()
    assert "needs answers" in err
    assert "\n" not in err
    assert path.read_text() == PLAN  # nothing written


def test_unknown_knob_is_refused(tmp_path, capsys):
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    assert main(["robot", "setup", "--plan", str(path), "--port", "sim://native?timescale=20", "--knob", "treble"]) == 2
    assert "no motorised knob treble" in capsys.readouterr().err


def test_a_knob_that_never_stops_is_reported():
    plan = Plan.model_validate({"knobs": [{"name": "gain", "axis": 0}], "robot": {"steps_per_rev": SPR}})
    with KnobController.open(plan, "sim://native?timescale=20") as ctl:
        with pytest.raises(UserError, match="full rotation without a stop"):
            GuidedSetup(ctl, lambda q: "max" if q.startswith("Which") else "y", say=lambda _: None).run(
                list(ctl.knobs.values())
            )


def test_setup_needs_a_plan(capsys):
    assert main(["robot", "setup", "--port", "sim://native"]) == 2
    assert "--plan" in capsys.readouterr().err
