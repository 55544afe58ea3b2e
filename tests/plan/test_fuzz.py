"""No plan, however broken, may produce a traceback: only a plan or one UserError line."""

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.errors import UserError
from rig.plan import load_plan, sample_settings

KEYS = [
    "version",
    "device",
    "knobs",
    "settings",
    "take",
    "audio",
    "robot",
    "train",
    "name",
    "axis",
    "min",
    "max",
    "rotation_deg",
    "detents",
    "fixed",
    "method",
    "count",
    "seed",
    "grid",
    "subset",
    "test",
    "validation_fraction",
    "seconds",
    "gain",
    "bass",
    "every_s",
    "min_db",
    "max_db",
    "models",
    "port",
    "steps_per_rev",
    "settings_",
    "label",
    "sources",
    "channels",
    "return",
    "reference",
    "list",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 3000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["grid", "random", "sobol", "lhs", "list", "db", "linear", "gain"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=25,
)
knob = st.fixed_dictionaries(
    {"name": st.sampled_from(["gain", "bass", "x y", "1a"]), "axis": st.integers(-1, 5)},
    optional={
        "min": st.integers(-2, 12),
        "max": st.integers(-2, 12),
        "detents": st.lists(st.integers(0, 10), max_size=4),
        "fixed": st.integers(-1, 11),
    },
)
plans = st.fixed_dictionaries(
    {"knobs": st.lists(knob, min_size=0, max_size=5) | values},
    optional={k: values for k in ["settings", "take", "audio", "robot", "device", "train"]},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans)
def test_random_plans_never_traceback(tmp_path, data):
    f = tmp_path / "fuzz.yaml"
    f.write_text(yaml.safe_dump(data))
    try:
        plan = load_plan(f)
        if len(plan.sampled_knobs) and plan.settings.count <= 500:
            sample_settings(plan)
    except UserError as exc:
        message = str(exc)
    else:
        return
    assert "\n" not in message
    assert message


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_random_text_never_traceback(tmp_path, text):
    f = tmp_path / "fuzz.yaml"
    f.write_text(text)
    try:
        load_plan(f)
    except UserError as exc:
        message = str(exc)
    else:
        return
    assert "\n" not in message
