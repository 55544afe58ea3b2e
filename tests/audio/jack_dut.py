"""A device under test as its own JACK client (ports dut:in, dut:out): a delay, gain and
tanh. Commands on stdin change its behaviour so one process serves every test:
  normal | silent | clip | xrun (sleep past a period once, making the server xrun) | quit
Each command is answered with 'ok' on stdout."""

import sys
import time

import jack
import numpy as np

server, delay, gain = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
client = jack.Client("dut", servername=server, no_start_server=True)
port_in = client.inports.register("in")
port_out = client.outports.register("out")
line = np.zeros(delay, np.float32)
state = {"mode": "normal", "stall": False}


@client.set_process_callback
def process(frames):
    global line
    if state["stall"]:
        state["stall"] = False
        time.sleep(0.05)  # ~10 periods of 256 at 48 kHz: the server must report an xrun
    joined = np.concatenate([line, port_in.get_array()])
    line = joined[frames:].copy()
    x = joined[:frames]
    if state["mode"] == "silent":
        y = np.zeros(frames, np.float32)
    elif state["mode"] == "clip":
        y = np.clip(20 * x, -1, 1)
    else:
        y = np.tanh(gain * x) / gain * 2
    port_out.get_array()[:] = y


def commands():
    for raw in sys.stdin:
        cmd = raw.strip()
        if cmd == "quit":
            break
        if cmd == "xrun":
            state["stall"] = True
        else:
            state["mode"] = cmd
        print("ok", flush=True)


with client:
    print("ready", flush=True)
    commands()  # returns on 'quit' or when the test closes stdin
