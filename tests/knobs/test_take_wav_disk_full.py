"""rig.audio.write_take_wavs on a full disk: one clean OSError (ENOSPC, naming the file), no
"Exception ignored ... Traceback" from soundfile's write callback, no partial file left.
(Lives here for ownership reasons; it belongs with tests/audio.)"""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
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


SCRIPT = textwrap.dedent(
    """
    import errno, sys, types
    from pathlib import Path
    import numpy as np
    from rig.audio import write_take_wavs
    take = types.SimpleNamespace(dry=np.zeros(4800, np.float32), wet=np.ones(48000, np.float32) * 0.5,
                                 loopback=np.zeros(48000, np.float32), sample_rate=48000)
    d = Path(sys.argv[1])
    write_take_wavs({"dry": d / "small.wav.tmp"}, take)  # 19 kB: fits
    try:
        write_take_wavs({"wet": d / "big.wav.tmp"}, take)  # 192 kB: does not
    except OSError as exc:
        print("OSERROR", exc.errno, exc.filename, exc.__cause__ is None, exc.__suppress_context__)
    """
)


def test_full_disk_raises_a_clean_oserror(tiny_disk):
    # in a child process: "Exception ignored" goes straight to stderr, not via pytest's capture
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_disk)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr, res.stderr
    assert res.stderr.strip() == ""
    words = res.stdout.split()
    assert words[:2] == ["OSERROR", str(errno.ENOSPC)], res.stdout
    assert words[2] == str(tiny_disk / "big.wav.tmp") and words[3:] == ["True", "True"]
    assert not (tiny_disk / "big.wav.tmp").exists()  # the partial file gave its space back
    import soundfile as sf

    data, rate = sf.read(tiny_disk / "small.wav.tmp", dtype="float32")
    assert rate == 48000 and len(data) == 4800 and sf.info(str(tiny_disk / "small.wav.tmp")).subtype == "FLOAT"


def test_write_roundtrip_unchanged(tmp_path):
    import soundfile as sf

    from rig.audio import write_take_wavs

    take = types.SimpleNamespace(wet=np.linspace(-1, 1, 1000, dtype=np.float32), sample_rate=48000)
    write_take_wavs({"wet": tmp_path / "x.wav.tmp"}, take)
    data, rate = sf.read(tmp_path / "x.wav.tmp", dtype="float32")
    assert rate == 48000 and np.array_equal(data, take.wet)
