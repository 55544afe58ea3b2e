"""Wiring of the reamping loop on a JACK server, as on a real interface: PortAudio's send
channel into the device under test, the device back into the return channel, and the
loopback channel straight across (docs/SETUP.md has the JACK set-up)."""

from __future__ import annotations


def newest_stream_ports(ports) -> list:
    """PortAudio numbers its ports per stream within a process (in_0/in_1, then in_2/in_3,
    ...): the last two are the stream just opened. Never hard-code in_0."""
    return sorted(ports, key=lambda p: int(p.shortname.split("_")[-1]))[-2:]


def wire_reamp_loop(client, channels, dut_in: str = "dut:in", dut_out: str = "dut:out") -> None:
    """Connect the newest PortAudio stream through `client` (a jack.Client), replacing
    PortAudio's automatic connections to system:*. `channels` is a 1-based ChannelMap."""
    ins = newest_stream_ports(client.get_ports("PortAudio", is_audio=True, is_input=True))
    outs = newest_stream_ports(client.get_ports("PortAudio", is_audio=True, is_output=True))
    for port in ins + outs:
        for other in client.get_all_connections(port):
            client.disconnect(port, other) if port.is_output else client.disconnect(other, port)
    client.connect(outs[channels.loopback - 1], ins[channels.loopback - 1])
    client.connect(outs[channels.send - 1], dut_in)
    client.connect(dut_out, ins[channels.return_ - 1])
