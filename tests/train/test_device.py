"""--device: resolution, the refusal of a device that is not there, the CPU profile."""

from __future__ import annotations

import pytest
import torch

from rig.cli.main import main
from rig.errors import UserError
from rig.train.device import profile, resolve_device
from rig.train.trainer import TrainingRun

from .conftest import quick_options, tiny_config, write_config

NO_CUDA = not torch.cuda.is_available()


def test_auto_prefers_cuda_and_falls_back_to_the_cpu():
    want = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == want
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
def test_missing_cuda_is_a_user_error():
    with pytest.raises(UserError, match="--device cuda: no CUDA GPU"):
        resolve_device("cuda")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_missing_mps_is_a_user_error():
    with pytest.raises(UserError, match="--device mps"):
        resolve_device("mps")


def test_unknown_device_is_a_user_error():
    with pytest.raises(UserError, match="unknown device"):
        resolve_device("tpu")


def test_cpu_profile_keeps_the_configs_segments_without_autocast():
    p = profile("cpu")
    assert (p.segment_s, p.batch_size, p.pin_memory, p.autocast_dtype) == (None, 8, False, None)


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
def test_train_on_a_missing_device_exits_2_with_one_line(session, tmp_path, capsys):
    cfg_path = write_config(tmp_path, tiny_config("tcn"))
    assert main(["train", str(session.folder), "--model", str(cfg_path), "--quiet", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--device cuda" in err[0]
    assert "use --device cpu" in err[0]
    assert not (session.folder / "train" / "tiny-tcn").exists()  # refused before anything was written


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
def test_capture_refuses_a_missing_training_device_before_starting(tmp_path, capsys):
    argv = [
        "capture",
        "--plan",
        "capture_plans/demo.yaml",
        "--sim",
        "--no-dashboard",
        "--quiet",
        "--session",
        str(tmp_path / "s"),
        "--device",
        "cuda",
    ]
    assert main(argv) == 2
    assert "--device cuda" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_explicit_cpu_trains_and_defaults_the_batch_to_the_device(session):
    trainer = TrainingRun(
        session.folder, tiny_config("tcn"), quick_options(device="cpu", batch_size=None, max_epochs=1)
    )
    assert trainer.opts.batch_size == 8
    assert trainer.device.type == "cpu"
    assert trainer.run().status == "finished"
