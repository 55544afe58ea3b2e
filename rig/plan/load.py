"""Load a plan file: safe YAML, then validation. Every problem becomes one UserError line
naming the file, the field path, the YAML line when known, and what is expected."""

from __future__ import annotations

import re
import reprlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rig.errors import UserError
from rig.plan.models import Plan

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # holds models/ and capture_plans/ in a checkout
PLAN_MAX_BYTES = 1 << 20  # a hand-written plan is a few kB; even a long list of settings fits
MAX_NODES = 1_000_000  # YAML nodes after expanding aliases: stops "billion laughs" bombs
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where present: ~10x faster
_SHOW = reprlib.Repr()  # shows a bad value in bounded time and length, however large it is
_SHOW.maxstring = _SHOW.maxother = 40
_SHOW.maxlist = _SHOW.maxdict = 4
_SHOW.maxlevel = 2


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    text = _read(path)
    data, root = parse_yaml(text, path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: a plan must be a YAML mapping with at least 'knobs:', got {type(data).__name__}")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise UserError(_describe(path, exc, root)) from None
    _check_files(path, plan)
    plan._source = path
    return plan


def _read(path: Path) -> str:
    if not path.exists():
        raise UserError(f"plan file {path} not found; give the path to a YAML plan, e.g. capture_plans/demo.yaml")
    if path.is_dir():
        raise UserError(f"{path} is a folder; give the path to a YAML plan file inside it")
    try:
        data = read_capped(path, PLAN_MAX_BYTES, "plan")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}; check the path and its permissions") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a text file; a plan is a UTF-8 YAML file") from None


def read_capped(path: Path, limit: int, what: str) -> bytes:
    """The file's bytes, refusing one over `limit` bytes without reading it whole."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise UserError(
            f"{path} is larger than {limit >> 20} MB, too large for a {what}; "
            f"check that it is the right file (a {what} is a short YAML mapping)"
        )
    return data


def parse_yaml(text: str | bytes, path: Path, what: str = "plan") -> tuple[Any, yaml.Node | None]:
    """Parse once (compose with the C loader, then construct from the same tree), refusing
    alias bombs before anything expands them. Read the text with read_capped."""
    try:
        loader = _LOADER(text)
        try:
            root = loader.get_single_node()
            _check_expansion(path, root, what)
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1}" if mark else ""
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise UserError(f"{path}{where}: not valid YAML ({problem}); fix the syntax at that line") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({' '.join(str(exc).split())}); fix the syntax") from None
    except RecursionError:
        raise UserError(f"{path}: YAML nested too deeply; a {what} is a shallow mapping") from None
    return data, root


def _check_expansion(path: Path, root: yaml.Node | None, what: str) -> None:
    """Count the nodes the document has once aliases are expanded, without expanding them:
    an alias is the same node object reached twice, so sizes are memoised per object."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if depth > 200:
            raise RecursionError
        sizes[id(node)] = 1  # a node that contains itself counts once
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        sizes[id(node)] = total
        if total > MAX_NODES:
            raise UserError(
                f"{path}: expands to more than {MAX_NODES:,} YAML values (aliases repeated over and over?); "
                f"a {what} this large is not something a person writes: remove the aliases"
            )
        return total

    if root is not None:
        size(root, 0)


def _describe(path: Path, exc: ValidationError, root: yaml.Node | None) -> str:
    err = exc.errors()[0]
    loc = [part for part in err["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
    if not loc and err["type"] == "value_error":
        return _describe_cross_field(path, err["msg"].removeprefix("Value error, "), root)
    field = _format_loc(loc) or "(top level)"
    line = _line_of(root, loc)
    where = f"{path}" + (f" line {line}" if line else "")
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = f"unknown key '{loc[-1]}'; remove it or check its spelling (see the plan format in README.md)"
    elif err["type"] == "missing":
        msg = "required field is missing; add it"
    elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
        msg = f"{msg} (got {_SHOW.repr(err['input'])[:60]})"
    return f"{where}: {field}: {msg}"


_PATH_PREFIX = re.compile(r"^([a-z_]+(?:\.[A-Za-z0-9_]+|\[\d+\])+): (.*)$")


def _describe_cross_field(path: Path, msg: str, root: yaml.Node | None) -> str:
    """Checks that span sections name their field path at the start of the message."""
    match = _PATH_PREFIX.match(msg)
    if not match:
        return f"{path}: {msg}"
    field, rest = match.groups()
    loc = [int(p) if p.isdigit() else p for p in re.findall(r"[A-Za-z0-9_]+", field)]
    line = _line_of(root, loc)
    return f"{path}" + (f" line {line}" if line else "") + f": {field}: {rest}"


def _format_loc(loc: list) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, loc: list) -> int | None:
    """Walk the composed YAML tree along the error's path; the deepest node found gives the line."""
    line = None
    for part in loc:
        if node is None:
            break
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part) or (part == "return_" and key.value == "return"):
                    child, line = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        node = child
    return line


def resolve_path(plan_file: Path, name: str) -> Path | None:
    """Plans name files relative to themselves, to the project folder above, or to the cwd."""
    candidate = Path(name)
    if candidate.is_absolute():
        return candidate if candidate.exists() else None
    for base in (plan_file.parent, plan_file.parent.parent, Path.cwd(), PROJECT_ROOT):
        if (base / candidate).exists():
            return (base / candidate).resolve()
    return None


def _check_files(path: Path, plan: Plan) -> None:
    for i, model in enumerate(plan.train.models):
        if resolve_path(path, model) is None:
            raise UserError(
                f"{path}: train.models[{i}]: model config {model} not found; use one of the files in models/"
            )
    for split in ("train", "test"):
        for i, source in enumerate(getattr(plan.take.sources, split)):
            if not source.startswith("builtin:") and resolve_path(path, source) is None:
                raise UserError(
                    f"{path}: take.sources.{split}[{i}]: {source} not found; give a folder of WAV/FLAC files or a builtin: source"
                )
