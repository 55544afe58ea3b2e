"""Models taken out of rig into the players guitarists use: NAM snapshots (`.nam`, the model
frozen at one knob setting) and GuitarML Proteus JSON (the knobs stay live inputs)."""
