"""An inverted loopback on the simulated rig: the take is stored, aligned like the others,
its manifest record says loopback_polarity -1, and one alert says why."""

from rig.session import read_events, read_manifest
from tests.capture.helpers import sim_options, write_plan


def test_inverted_loopback_is_recorded_in_manifest_and_alerted(tmp_path):
    from rig.capture import run_capture

    plan = write_plan(tmp_path, count=2, seconds=1.0)
    folder = tmp_path / "session"
    # Recording 0 is the start reference take: its loopback cable is "swapped".
    opts = sim_options(plan, folder, audio_faults={0: "invert_loopback"})
    assert run_capture(opts) == 0
    records = read_manifest(folder)
    polarity = {r["take_id"]: r["loopback_polarity"] for r in records}
    assert sorted(polarity.values()) == [-1] + [1] * (len(records) - 1), polarity
    assert records[0]["loopback_polarity"] == records[0]["qc"]["loopback_polarity"] == -1
    assert len({r["latency_samples"] for r in records}) == 1, "inverted or not, the same latency"
    alerts = [e for e in read_events(folder)[0] if e["type"] == "alert" and e["kind"] == "loopback_polarity"]
    assert len(alerts) == 1
    assert "inverted" in alerts[0]["message"]
