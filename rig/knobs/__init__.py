"""Knob robot: serial protocol, controller driver, simulator launcher, shaft angles."""

from rig.knobs.driver import KnobController, Status, available_ports, trapezoid_time
from rig.knobs.shafts import ShaftReader, dial_values
from rig.knobs.simulator import SimOptions, Simulator, parse_url, simavr_available

__all__ = [
    "KnobController",
    "ShaftReader",
    "SimOptions",
    "Simulator",
    "Status",
    "available_ports",
    "dial_values",
    "parse_url",
    "simavr_available",
    "trapezoid_time",
]
