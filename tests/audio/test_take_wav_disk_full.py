"""rig.audio.write_take_wavs on a full disk: one clean OSError (ENOSPC, naming the file), no
"Exception ignored ... Traceback" from soundfile's write callback, no partial file left.
(Lives here for ownership reasons; it belongs with tests/audio.)"""

from __future__ import annotations

import errno
import subprocess
import sys
import types

import numpy as np
import pytest


@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {res.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_full_disk_raises_a_clean_oserror(tiny_disk, monkeypatch, capfd):
    import soundfile as sf

    from rig.audio import write_take_wavs

    # soundfile's write callback reports through sys.unraisablehook ("Exception ignored ...")
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    take = types.SimpleNamespace(dry=np.zeros(4800, np.float32), wet=np.full(48000, 0.5, np.float32), sample_rate=48000)
    write_take_wavs({"dry": tiny_disk / "small.wav.tmp"}, take)  # 19 kB: fits
    with pytest.raises(OSError, match="No space left on device") as err:
        write_take_wavs({"wet": tiny_disk / "big.wav.tmp"}, take)  # 192 kB: does not
    exc = err.value
    assert type(exc) is OSError
    assert exc.errno == errno.ENOSPC
    assert exc.filename == str(tiny_disk / "big.wav.tmp")
    assert exc.__cause__ is None
    assert exc.__suppress_context__
    assert unraisable == []
    out, errtext = capfd.readouterr()
    assert "Traceback" not in errtext + out
    assert "Exception ignored" not in errtext + out
    assert not (tiny_disk / "big.wav.tmp").exists()  # the partial file gave its space back
    data, rate = sf.read(tiny_disk / "small.wav.tmp", dtype="float32")
    assert rate == 48000
    assert len(data) == 4800
    assert sf.info(str(tiny_disk / "small.wav.tmp")).subtype == "FLOAT"


def test_write_roundtrip_unchanged(tmp_path):
    import soundfile as sf

    from rig.audio import write_take_wavs

    take = types.SimpleNamespace(wet=np.linspace(-1, 1, 1000, dtype=np.float32), sample_rate=48000)
    write_take_wavs({"wet": tmp_path / "x.wav.tmp"}, take)
    data, rate = sf.read(tmp_path / "x.wav.tmp", dtype="float32")
    assert rate == 48000
    assert np.array_equal(data, take.wet)
