"""Write measured values back into a plan file, changing only those values: comments, order,
flow or block style and every other line stay as the user wrote them (rig robot setup)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from rig.errors import UserError
from rig.plan.load import load_plan

Edit = tuple[int, int, str]  # replace text[start:end] with this


def update_plan_file(path: Path, knob_fields: dict[str, dict[str, str]], robot_fields: dict[str, str]) -> None:
    """Sets knobs[name].key and robot.key to the given YAML snippets; the result must load as
    a valid plan before it replaces the file (atomically)."""
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise UserError(f"{path}: a plan must be a YAML mapping")
    edits: list[Edit] = []
    knobs = _value(root, "knobs")
    for name, fields in knob_fields.items():
        node = _knob(knobs, name)
        if node is None:
            raise UserError(f"{path}: knob '{name}' not found in knobs")
        edits += [_set(text, node, key, value) for key, value in fields.items()]
    robot = _value(root, "robot")
    if isinstance(robot, yaml.MappingNode):
        edits += [_set(text, robot, key, value) for key, value in robot_fields.items()]
    elif robot_fields:
        block = "".join(f"\n  {k}: {v}" for k, v in robot_fields.items())
        edits.append((len(text), len(text), ("" if text.endswith("\n") else "\n") + f"robot:{block}\n"))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    _replace_checked(path, text)


def _value(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    return next((v for k, v in mapping.value if getattr(k, "value", None) == key), None)


def _knob(knobs: yaml.Node | None, name: str) -> yaml.MappingNode | None:
    if not isinstance(knobs, yaml.SequenceNode):
        return None
    for item in knobs.value:
        if isinstance(item, yaml.MappingNode) and getattr(_value(item, "name"), "value", None) == name:
            return item
    return None


def _set(text: str, mapping: yaml.MappingNode, key: str, value: str) -> Edit:
    node = _value(mapping, key)
    if node is not None:  # replace the value where it stands
        return node.start_mark.index, node.end_mark.index, value
    if mapping.flow_style:  # {a: 1, b: 2} -> {a: 1, b: 2, key: value}
        close = text.rindex("}", 0, mapping.end_mark.index)
        at = len(text[:close].rstrip())
        return at, at, f", {key}: {value}"
    # block style: a new line after the mapping's last line, at its keys' indentation
    first_key = mapping.value[0][0]
    last_line_end = text.find("\n", mapping.value[-1][1].end_mark.index - 1)
    at = len(text) if last_line_end < 0 else last_line_end
    return at, at, "\n" + " " * first_key.start_mark.column + f"{key}: {value}"


def _replace_checked(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        load_plan(tmp)  # never leave a plan that does not load
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
