"""`rig train` and `rig export` as the capture and users run them."""

from __future__ import annotations

import json

from rig.cli.main import main
from rig.session import EventLog

from .conftest import events, tiny_config, write_config


def test_train_follow_on_a_finished_capture_then_render_and_export(session, tmp_path, capsys):
    EventLog(session.folder / "events.jsonl").emit("finished", done=10, total=10)
    cfg_path = write_config(tmp_path, tiny_config("tcn"))
    argv = [
        "train",
        "--follow",
        str(session.folder),
        "--model",
        str(cfg_path),
        "--max-epochs",
        "2",
        "--epoch-segments",
        "4",
        "--batch-size",
        "4",
        "--quiet",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    assert "tiny-tcn: finished (max_epochs), test ESR" in capsys.readouterr().out
    train = session.folder / "train"
    assert "## tiny-tcn" in (train / "report.md").read_text()
    assert "(tiny-tcn/loss_curves.png)" in (train / "report.md").read_text()
    card = json.loads((train / "tiny-tcn" / "export" / "model.json").read_text())
    assert card["knobs"][0]["name"] == "gain"
    assert card["plan_hash"] == session.info["plan_hash"]
    assert card["metrics"]["test"]["per_setting"]
    assert card["receptive_field"] == 7

    (train / "tiny-tcn" / "export" / "model.onnx").unlink()
    assert main(["export", str(session.folder), "--model", "tiny-tcn"]) == 0
    assert (train / "tiny-tcn" / "export" / "model.onnx").is_file()
    assert len(events(session.folder, "train_exported")) == 2


def test_train_without_takes_is_a_user_error(tmp_path, capsys):
    from rig.train.testing import make_session

    session = make_session(tmp_path / "empty", commit=False)
    cfg_path = write_config(tmp_path, tiny_config("tcn"))
    assert main(["train", str(session.folder), "--model", str(cfg_path), "--quiet"]) == 2
    assert "has no train takes yet" in capsys.readouterr().err


def test_missing_session_and_config_are_user_errors(tmp_path, session, capsys):
    assert main(["train", str(tmp_path / "nope"), "--quiet"]) == 2
    assert "not a session folder" in capsys.readouterr().err
    assert main(["train", str(session.folder), "--model", str(tmp_path / "x.yaml"), "--quiet"]) == 2
    assert "not found" in capsys.readouterr().err


def test_building_the_cli_imports_no_heavy_library():
    """Every `rig` command builds the whole parser first: torch, scipy (via rig.session) and
    numpy stay out of it, so `rig --help` and the light commands start at once."""
    import subprocess
    import sys

    code = (
        "import sys; from rig.cli.main import build_parser; build_parser(); "
        "print(sorted(m for m in ('torch', 'scipy', 'numpy', 'onnxruntime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
