"""rig: capture robot and reamping rig controller for neural modelling of amps and pedals."""

__version__ = "0.1.0"
