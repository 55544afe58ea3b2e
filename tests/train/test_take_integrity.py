"""The trainer verifies every take before its first use: a damaged one (bits flipped after
it was recorded) is refused with an alert event and never reaches a batch."""

from __future__ import annotations

from rig.session import read_manifest
from rig.train.trainer import TrainingRun

from .conftest import events, quick_options, tiny_config


def test_a_damaged_take_is_refused_and_never_trained_on(session):
    victim = next(r for r in read_manifest(session.folder) if r["split"] == "train")
    path = session.folder / victim["files"]["wet"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit: the audio still loads fine
    path.write_bytes(bytes(data))
    seen: set[str] = set()
    opts = quick_options(export=False, report=False, on_batch=lambda _split, ids: seen.update(ids))
    result = TrainingRun(session.folder, tiny_config("tcn"), opts).run()
    assert result.status == "finished"
    assert victim["take_id"] not in seen
    assert seen
    refused = [e for e in events(session.folder, "alert") if e["kind"] == "train_take_refused"]
    assert [e["take_id"] for e in refused] == [victim["take_id"]]
    assert "checksum mismatch" in refused[0]["message"]
