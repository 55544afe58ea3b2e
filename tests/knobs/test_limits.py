"""The firmware's limits and its mid-move end-stop, seen from the host: limits come from HELLO,
an end-stop closing mid-move re-homes once and then stops with a way on, and bad simulator
options and repeated knobs are one clear line."""

from __future__ import annotations

import pytest

from rig.cli.main import main
from rig.errors import UserError
from rig.knobs import KnobController, ShaftReader, Simulator, parse_url
from rig.plan.models import Plan


def plan_for(port: str, **robot) -> Plan:
    return Plan.model_validate(
        {
            "knobs": [{"name": "gain", "axis": 0}, {"name": "bass", "axis": 1}],
            "robot": {"port": port, "steps_per_rev": 1600, "max_speed": 4000, "acceleration": 20000, **robot},
        }
    )


def test_speed_and_acceleration_are_capped_by_the_limits_the_firmware_states():
    plan = plan_for("sim://native?timescale=20", max_speed=50000, acceleration=90000)
    with KnobController.open(plan) as ctl:
        assert ctl.limits == {"maxrate": 8000, "maxaccel": 30000, "maxtravel": 60000}
        fields = ctl.link.request("CONFIG 0").fields()
        assert (fields["speed"], fields["accel"]) == ("8000", "30000")


def test_knob_shorter_than_its_travel_rehomes_once_then_stops():
    """The pot turns 200 degrees, the plan says 300: moving up stalls unseen at the far end,
    and coming down the end-stop closes mid-move. The first time, the driver re-homes and
    redoes the move (it lands exactly); the second time it stops and says what to do."""
    plan = plan_for("unused", homing="hardstop")
    with Simulator(parse_url("sim://native?timescale=20&seed=3"), 1600, [200.0, 300.0, 300.0, 300.0]) as sim:
        with KnobController.open(plan, sim.pty) as ctl:
            reader = ShaftReader(sim.shaft_file)
            ctl.home()
            ctl.move_to({"gain": 10})
            ctl.move_to({"gain": 1})
            assert ctl.recoveries == 1
            assert ctl.limit_axes == {0}
            assert reader.shaft_steps()[0] == plan.robot.steps_for(plan.knob("gain"), 1)
            ctl.move_to({"gain": 10})
            with pytest.raises(UserError, match=r"end-stop of gain \(axis 0.*twice.*rig robot setup"):
                ctl.move_to({"gain": 1})


@pytest.mark.parametrize("query", ["timescale=0", "timescale=-5", "timescale=abc", "corrupt=1.5", "drop=-0.1"])
def test_bad_simulator_options_are_one_line(capsys, query):
    assert main(["robot", "status", "--port", f"sim://native?{query}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rig: error: ")
    assert "\n" not in err
    assert query.split("=")[0] in err


def test_a_knob_given_twice_is_refused(capsys):
    assert main(["robot", "move", "--port", "sim://native?timescale=20", "axis0=5", "axis0=7"]) == 2
    err = capsys.readouterr().err.strip()
    assert "axis0" in err
    assert "twice" in err
    assert "\n" not in err


def test_errors_carry_the_last_lines_on_the_wire():
    """The driver keeps the last lines each way and hands them to its errors (for a bug report),
    and the firmware's err text is its code's text from the shared table."""
    from rig.knobs import protocol as P
    from rig.knobs.driver import FirmwareError

    with KnobController.open(plan_for("sim://native?timescale=20")) as ctl:
        with pytest.raises(FirmwareError) as err:
            ctl.link.request("HOME 4")
    assert err.value.code == P.E_AXIS
    assert err.value.text == P.ERROR_TEXTS[P.E_AXIS]
    sent, received = err.value.traffic[-2:]
    assert sent.startswith("> N")
    assert " HOME 4*" in sent
    assert received.startswith(f"< err N{err.value.seq} 10 no such axis*")
    assert any(" HELLO*" in line for line in err.value.traffic)  # earlier lines are kept too
