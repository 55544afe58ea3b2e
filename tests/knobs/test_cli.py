from rig.cli.main import main


def test_robot_ports_lists_simulators(capsys):
    assert main(["robot", "ports"]) == 0
    assert "sim://native" in capsys.readouterr().out


def test_robot_move_and_status(capsys):
    assert main(["robot", "move", "--port", "sim://native?timescale=20", "axis0=5", "axis3=10"]) == 0
    out = capsys.readouterr().out
    assert "axis0" in out
    assert "dial   5.00" in out
    assert "dial  10.00" in out


def test_robot_errors_are_one_line(capsys):
    assert main(["robot", "status", "--port", "/dev/rig-missing"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rig: error: serial port /dev/rig-missing not found")
    assert "\n" not in err
    assert main(["robot", "move", "--port", "sim://native", "gain"]) == 2
    assert "KNOB=VALUE" in capsys.readouterr().err
