"""Bare names for shipped plans and model configs (`rig capture --plan marshall_jvm`), the
current folder's copies first, and `--sim` running a real shipped plan on the simulated rig
(virtual interface and robot simulator, whatever interface and port the plan names)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rig.cli.main import main
from rig.errors import UserError
from rig.plan import load_plan
from rig.plan.load import PROJECT_ROOT
from rig.plan.locate import locate_model_config, locate_plan

SHIPPED = PROJECT_ROOT / "capture_plans"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch) -> Path:
    """A working folder that is not the checkout: names must still resolve."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", ["marshall_jvm", "marshall_jvm.yaml"])
@pytest.mark.usefixtures("elsewhere")
def test_bare_plan_name_resolves_to_the_shipped_plan(name):
    assert locate_plan(name).resolve() == (SHIPPED / "marshall_jvm.yaml").resolve()


def test_the_current_folders_plans_come_first(elsewhere):
    (elsewhere / "capture_plans").mkdir()
    mine = elsewhere / "capture_plans" / "demo.yaml"
    mine.write_text((SHIPPED / "demo.yaml").read_text().replace("Virtual JVM-style amp", "My own amp", 1))
    assert locate_plan("demo") == mine
    assert main(["plan", "--list"]) == 0


@pytest.mark.usefixtures("elsewhere")
def test_plan_list_names_every_shipped_plan(capsys):
    assert main(["plan", "--list"]) == 0
    out = capsys.readouterr().out
    for path in SHIPPED.glob("*.yaml"):
        assert path.stem in out
    assert "Marshall JVM410H" in out


@pytest.mark.usefixtures("elsewhere")
def test_rig_plan_takes_a_bare_name(capsys):
    assert main(["plan", "marshall_jvm", "--no-route", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_settings"] == 224


@pytest.mark.usefixtures("elsewhere")
def test_unknown_name_is_one_line_listing_the_names(capsys):
    with pytest.raises(UserError, match="marshall_jvm"):
        locate_plan("marshal")
    assert main(["plan", "marshal"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not found" in err
    assert "rig plan --list" in err
    assert "\n" not in err
    with pytest.raises(UserError, match="not found"):
        locate_plan("some/folder/marshall_jvm.yaml")  # a path with a folder is taken as given


@pytest.mark.usefixtures("elsewhere")
def test_bare_model_config_name():
    found = locate_model_config("tcn-tvf-45-s-16")
    assert found.resolve() == (PROJECT_ROOT / "models" / "tcn-tvf-45-s-16.yaml").resolve()
    with pytest.raises(UserError, match="tcn-tvf-45-s-16"):
        locate_model_config("tcn-nope")


@pytest.mark.usefixtures("elsewhere")
def test_render_with_a_config_name_says_how_to_get_a_trained_model(capsys):
    assert main(["render", "--model", "tcn-tvf-45-s-16", "in.wav", "out.wav"]) == 2
    err = capsys.readouterr().err.strip()
    assert "is a model config" in err
    assert "rig train SESSION --model tcn-tvf-45-s-16" in err
    assert "\n" not in err


def short_copy_of(shipped: Path, folder: Path) -> Path:
    """The shipped plan with fewer, shorter takes; its device, knobs, audio interface and
    robot port are left as a user would find them."""
    text = shipped.read_text()
    for old, new in (
        ("subset: 200", "subset: 2"),
        ("subset: 24", "subset: 1"),
        ("seconds: 45", "seconds: 1"),
        ("warmup_s: 30", "warmup_s: 0"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    (folder / "capture_plans").mkdir(exist_ok=True)
    path = folder / "capture_plans" / "marshall_short.yaml"
    path.write_text(text)
    return path


def test_sim_runs_the_real_marshall_plan_end_to_end(elsewhere, capsys):
    plan = load_plan(short_copy_of(SHIPPED / "marshall_jvm.yaml", elsewhere))
    assert plan.audio.interface == "scarlett-2i2"
    assert plan.robot.port == "/dev/ttyACM0"
    code = main(
        [
            "capture",
            "--plan",
            "marshall_short",
            "--sim",
            "--no-train",
            "--no-dashboard",
            "--quiet",
            "--session",
            str(elsewhere / "session"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    lines = (elsewhere / "session" / "manifest.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    stored = {r["setting_id"] for r in records if r["split"] != "reference"}
    assert len(stored) == 3  # 2 train/val + 1 test settings
