"""`rig play`: a real-time player of a trained model (JACK or PortAudio, live knobs with glide,
terminal and MIDI control), and the per-frame runtimes it shares with `rig render`."""
