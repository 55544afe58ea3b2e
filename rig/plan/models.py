"""The capture plan as typed models. Every field has a default so a short plan works;
unknown keys are errors (extra="forbid")."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_serializer, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Device(Strict):
    name: str = "device under test"
    mode: str = ""
    notes: str = ""
    simulator: Literal["amp", "fuzz"] = Field("amp", description="virtual device used by --sim runs")


class Knob(Strict):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    axis: int | None = Field(None, ge=0, le=3, description="motor axis; None for fixed knobs set by hand")
    min: float = 0.0
    max: float = 10.0
    rotation_deg: float = Field(300.0, gt=0, le=360)
    detents: list[float] | None = Field(None, description="allowed positions of a stepped control")
    fixed: float | None = Field(None, description="set to this value but never sampled")
    label: str | None = Field(None, description="short tag used in file names, e.g. B for bass")

    @model_validator(mode="after")
    def _check(self) -> Knob:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        for value in (self.detents or []) + ([self.fixed] if self.fixed is not None else []):
            if not self.min <= value <= self.max:
                raise ValueError(f"value {value} is outside the dial range {self.min}..{self.max}")
        if self.detents is not None:
            if len(self.detents) < 2:
                raise ValueError("detents needs at least two positions")
            self.detents = sorted(set(self.detents))
        return self

    @property
    def sampled(self) -> bool:
        return self.fixed is None

    @property
    def tag(self) -> str:
        return self.label or self.name[:1].upper()

    def normalise(self, value: float) -> float:
        return (value - self.min) / (self.max - self.min)

    def to_degrees(self, value: float) -> float:
        return self.normalise(value) * self.rotation_deg


SettingValues = dict[str, float]


def _check_value(knob: Knob, value: float, where: str) -> None:
    if not knob.min <= value <= knob.max:
        raise ValueError(f"{where}: value {value} is outside the dial range {knob.min}..{knob.max}")
    if knob.detents and min(abs(value - d) for d in knob.detents) > 1e-9:
        raise ValueError(f"{where}: value {value} is not one of the detents {knob.detents}")


class TestSettings(Strict):
    """Held-out settings: values never used in train/val."""

    method: Literal["grid", "random", "list", "none"] = "none"
    grid: dict[str, list[float]] = Field(default_factory=dict)
    subset: int | None = Field(None, ge=1, description="random subset of the grid product")
    count: int = Field(0, ge=0, description="number of random test settings")
    settings: list[SettingValues] = Field(default_factory=list)
    content: Literal["test", "train"] = Field(
        "test", description="dry content for test takes: the held-out content set by default"
    )


class Active(Strict):
    """settings.method: active -- the trainer proposes batches after an initial Sobol batch
    (the capture side is rig/capture/active.py, the link rig/session/proposals.py)."""

    initial: int = Field(ge=1, le=100_000, description="Sobol settings recorded before any proposal")
    batch: int = Field(ge=1, le=10_000, description="settings per proposed batch")
    budget_takes: int | None = Field(None, ge=2, le=100_000, description="train + val takes in all")
    budget_minutes: float | None = Field(None, gt=0, description="capture minutes instead of a take count")
    pool: int = Field(4096, ge=1, le=10_000_000, description="candidate settings the trainer scores per batch")
    proposal_timeout_s: float = Field(300.0, gt=0, description="wait this long for a proposal, then use Sobol")
    min_distance: float = Field(
        0.1, ge=0.0, le=1.0, description="normalised knob distance kept from test and recorded settings"
    )

    @model_validator(mode="after")
    def _budget(self) -> Active:
        if (self.budget_takes is None) == (self.budget_minutes is None):
            raise ValueError("give exactly one of budget_takes and budget_minutes")
        return self


class Settings(Strict):
    method: Literal["grid", "random", "sobol", "lhs", "active"] = "random"
    active: Active | None = Field(None, description="only with method: active")
    count: int = Field(40, ge=1, le=100_000)
    seed: int = 0
    grid: dict[str, list[float]] = Field(default_factory=dict)
    subset: int | None = Field(None, ge=1, description="random subset of the grid product")
    validation_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    min_test_distance: float = Field(
        0.0, ge=0.0, description="random train settings closer than this (normalised) to a test one are redrawn"
    )
    test: TestSettings = Field(default_factory=TestSettings)
    reference: SettingValues | None = Field(
        None, description="setting of the drift reference take (default: all knobs mid-range)"
    )
    reference_every: int = Field(0, ge=0, description="reference take every N takes (0: start and end only)")

    @model_serializer(mode="wrap")
    def _without_unused_active(self, handler):
        # other plans dump (and hash: plan_hash, resume, caches) exactly as before `active` existed
        data = handler(self)
        if self.active is None and isinstance(data, dict):
            data.pop("active", None)
        return data


def _check_active(s: Settings) -> None:
    if s.method != "active":
        if s.active is not None:
            raise ValueError(f"settings.active is given but settings.method is {s.method}; set method: active")
        return
    if s.active is None:
        raise ValueError("settings.method is active but settings.active is missing; give initial, batch, budget_takes")
    # count keeps its default in a stored plan's dump, so only grid and subset can be told apart
    unused = [name for name, value in (("grid", s.grid), ("subset", s.subset)) if value]
    if unused:
        raise ValueError(
            f"settings.{unused[0]} has no effect with method: active; remove it (settings.active sets sizes)"
        )


def _check_methods(s: Settings) -> None:
    """Each method has what it draws from: grid values, a test list, a test count."""
    if s.method == "grid" and not s.grid:
        raise ValueError("settings.method is grid but settings.grid is empty; list values per knob")
    if s.test.method == "grid" and not s.test.grid:
        raise ValueError("settings.test.method is grid but settings.test.grid is empty")
    if s.test.method == "list" and not s.test.settings:
        raise ValueError("settings.test.method is list but settings.test.settings is empty")
    if s.test.method == "random" and s.test.count < 1:
        raise ValueError("settings.test.method is random but settings.test.count is 0")


class Impulses(Strict):
    count: int = Field(2, ge=1, le=4)
    spacing_ms: float = Field(100.0, gt=0)
    amplitude: float = Field(0.5, gt=0, le=1.0)


class GainBlocks(Strict):
    every_s: float = Field(5.0, gt=0)
    min_db: float = Field(-20.0, le=0)
    max_db: float = Field(0.0, le=0)
    distribution: Literal["db", "linear"] = "db"
    ramp_ms: float = Field(10.0, ge=0)

    @model_validator(mode="after")
    def _order(self) -> GainBlocks:
        if self.min_db > self.max_db:
            raise ValueError(f"min_db ({self.min_db}) must not exceed max_db ({self.max_db})")
        return self


class Sources(Strict):
    train: list[str] = Field(default_factory=lambda: ["builtin:mix"])
    test: list[str] = Field(default_factory=lambda: ["builtin:mix-test"])


class QC(Strict):
    """Take checks (rig.audio.qc): a take that fails one is retried, then left out of the data."""

    clip_level: float = Field(0.999, gt=0, le=1.0, description="|sample| at or over this counts as clipped")
    max_clipped: int = Field(0, ge=0, description="clipped samples allowed per channel")
    min_snr_db: float = Field(30.0, description="return level over the content minus the pre-roll noise floor")
    max_noise_dbfs: float = Field(-50.0, le=0, description="highest return noise floor in the pre-roll")
    silent_dbfs: float = Field(-60.0, le=0, description="return RMS below this: device off or unplugged")
    max_dc: float = Field(0.02, ge=0, le=1.0, description="largest mean of the loopback and return over the content")
    max_xruns: int = Field(0, ge=0, description="buffer over/underruns allowed during a take")
    drift_esr: float = Field(
        0.01, gt=0, description="reference take ESR vs the first above this: the device drifted (warning)"
    )


class Take(Strict):
    seconds: float = Field(45.0, gt=0, le=3600)
    pre_roll_s: float = Field(0.5, ge=0.05, le=60)
    post_roll_s: float = Field(0.5, ge=0.05, le=60)
    impulses: Impulses = Field(default_factory=Impulses)
    gain: GainBlocks = Field(default_factory=GainBlocks)
    sources: Sources = Field(default_factory=Sources)
    peak_dbfs: float = Field(-6.0, le=0, description="peak level of the dry content before gain blocks")
    max_retries: int = Field(3, ge=0, le=20)
    qc: QC = Field(default_factory=QC)


class ChannelMap(Strict):
    """1-based channel numbers on the interface, as printed on its panel."""

    send: int = Field(2, ge=1)
    loopback: int = Field(1, ge=1)
    return_: int = Field(2, ge=1, alias="return")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Audio(Strict):
    interface: str = Field(
        "virtual", description="preset (scarlett-solo, scarlett-2i2, motu-m4), device name, or virtual"
    )
    sample_rate: int = Field(48000, ge=8000, le=384000)
    channels: ChannelMap | None = Field(None, description="defaults to the preset's map")
    blocksize: int = Field(256, ge=16, le=8192)
    send_dbu: float | None = None
    return_dbu: float | None = None


class Robot(Strict):
    port: str = "sim://native"
    steps_per_rev: int = Field(4096, ge=16, description="motor steps per shaft turn incl. gearing and microstepping")
    max_speed: float = Field(1000.0, gt=0, description="steps per second")
    acceleration: float = Field(2000.0, gt=0, description="steps per second squared")
    backlash: int = Field(0, ge=0, description="steps of gear slack; final approach always from below")
    settle_s: float = Field(0.2, ge=0, le=60)
    homing: Literal["hardstop", "endstop"] = "hardstop"
    invert_axes: list[int] = Field(
        default_factory=list, description="motor axes wired to turn the other way (found by rig robot setup)"
    )
    warmup_s: float = Field(0.0, ge=0, description="wait at start-up (tube amps drift while warming)")

    def steps_for(self, knob: Knob, value: float) -> int:
        return round(knob.to_degrees(value) / 360.0 * self.steps_per_rev)

    def travel_steps(self, knob: Knob) -> int:
        return round(knob.rotation_deg / 360.0 * self.steps_per_rev)


class Train(Strict):
    auto: bool = True
    models: list[str] = Field(default_factory=lambda: ["models/tcn-tvf-45-s-16.yaml"])
    budget_minutes: float = Field(10.0, gt=0)
    min_takes: int = Field(4, ge=1, description="training starts once this many train takes exist")
    sweep: str | None = Field(None, description="sweep file (sweeps/*.yaml): train its trials with Ray Tune instead")


class Plan(Strict):
    version: Literal[1] = 1
    device: Device = Field(default_factory=Device)
    knobs: list[Knob] = Field(min_length=1, max_length=8)
    settings: Settings = Field(default_factory=Settings)
    take: Take = Field(default_factory=Take)
    audio: Audio = Field(default_factory=Audio)
    robot: Robot = Field(default_factory=Robot)
    train: Train = Field(default_factory=Train)
    _source: Path | None = PrivateAttr(default=None)  # the file it came from: relative paths start there

    @field_validator("knobs")
    @classmethod
    def _unique(cls, knobs: list[Knob]) -> list[Knob]:
        names = [k.name for k in knobs]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"knob names must be unique, repeated: {', '.join(sorted(dup))}")
        if all(not k.sampled for k in knobs):
            raise ValueError("every knob is fixed; at least one knob must be sampled (remove 'fixed' from it)")
        axes = [k.axis for k in knobs if k.axis is not None]
        dup_axes = {a for a in axes if axes.count(a) > 1}
        if dup_axes:
            raise ValueError(f"two knobs share motor axis {sorted(dup_axes)[0]}")
        for k in knobs:
            if k.sampled and k.axis is None:
                raise ValueError(f"knob '{k.name}' is sampled but has no motor axis (give axis or fixed)")
        return knobs

    @model_validator(mode="after")
    def _cross(self) -> Plan:
        """Settings against the knobs, in this order: grids, listed values, method fields."""
        names = {k.name for k in self.knobs}
        self._check_grid("settings.grid", self.settings.grid, names)
        self._check_grid("settings.test.grid", self.settings.test.grid, names)
        self._check_listed(names)
        _check_active(self.settings)
        _check_methods(self.settings)
        return self

    def _check_grid(self, where: str, mapping: dict[str, list[float]], names: set[str]) -> None:
        """Every grid knob exists, is sampled and has at least one value, each on its dial."""
        for name in mapping:
            if name not in names:
                raise ValueError(f"{where} names unknown knob '{name}' (knobs: {', '.join(sorted(names))})")
            if not mapping[name]:
                raise ValueError(f"{where}.{name}: an empty list; give at least one value for knob '{name}'")
            knob = self.knob(name)
            if not knob.sampled:
                raise ValueError(f"{where}.{name}: knob '{name}' is fixed and cannot be sampled")
            for value in mapping[name]:
                _check_value(knob, value, f"{where}.{name}")

    def _check_listed(self, names: set[str]) -> None:
        """Settings given value by value (the test list, then the reference) name real knobs, on their dials."""
        for i, setting in enumerate(self.settings.test.settings):
            for name, value in setting.items():
                if name not in names:
                    raise ValueError(f"settings.test.settings[{i}] names unknown knob '{name}'")
                _check_value(self.knob(name), value, f"settings.test.settings[{i}].{name}")
        for name, value in (self.settings.reference or {}).items():
            if name not in names:
                raise ValueError(f"settings.reference names unknown knob '{name}'")
            _check_value(self.knob(name), value, f"settings.reference.{name}")

    @property
    def sampled_knobs(self) -> list[Knob]:
        return [k for k in self.knobs if k.sampled]

    def knob(self, name: str) -> Knob:
        for k in self.knobs:
            if k.name == name:
                return k
        raise KeyError(name)
