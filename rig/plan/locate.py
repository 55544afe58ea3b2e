"""Bare names for the files rig ships: `marshall_jvm` is capture_plans/marshall_jvm.yaml and
`tcn-tvf-45-s-16` is models/tcn-tvf-45-s-16.yaml. A name is looked up in the current folder's
capture_plans/ (or models/) first, so a user's own copy wins, then in the installed rig's."""

from __future__ import annotations

from pathlib import Path

from rig.errors import UserError
from rig.plan.load import PROJECT_ROOT  # the checkout (or editable install) holding the shipped files

PLANS = "capture_plans"
MODELS = "models"
SUFFIXES = (".yaml", ".yml")


def search_dirs(kind: str) -> list[Path]:
    """Where bare names of `kind` (PLANS or MODELS) are looked up, first match wins."""
    dirs = [Path.cwd() / kind, PROJECT_ROOT / kind]
    return [d for i, d in enumerate(dirs) if d.is_dir() and d.resolve() not in {e.resolve() for e in dirs[:i]}]


def shipped(kind: str) -> dict[str, Path]:
    """Every name that resolves, with the file it resolves to."""
    found: dict[str, Path] = {}
    for folder in reversed(search_dirs(kind)):  # earlier folders override later ones
        found.update({p.stem: p for p in sorted(folder.iterdir()) if p.suffix in SUFFIXES and p.is_file()})
    return dict(sorted(found.items()))


def locate(name: str | Path, kind: str, what: str, hint: str) -> Path:
    """`name` itself when it exists, else a bare name (no folder part) from search_dirs()."""
    path = Path(name)
    if path.exists():
        return path
    if path.parent == Path("."):
        stem = path.name.removesuffix(path.suffix) if path.suffix in SUFFIXES else path.name
        for folder in search_dirs(kind):
            for suffix in SUFFIXES:
                if (folder / f"{stem}{suffix}").is_file():
                    return folder / f"{stem}{suffix}"
    names = ", ".join(shipped(kind)) or "none found"
    raise UserError(f"{what} {name} not found; give a path to a YAML file or a shipped name ({names}); {hint}")


def locate_plan(name: str | Path) -> Path:
    return locate(name, PLANS, "plan", "rig plan --list shows them")


def locate_model_config(name: str | Path) -> Path:
    return locate(name, MODELS, "model config", f"the shipped ones are in {PROJECT_ROOT / MODELS}")


def locate_trained_model(name: str | Path) -> Path:
    """For `rig render --model`: a path as given, or a bare model name: ./train/<name> (run
    inside a session folder), else the newest ./sessions/*/train/<name> holding weights."""
    path = Path(name)
    if path.exists() or path.parent != Path("."):
        return path
    here = Path.cwd() / "train" / path.name
    trained = [here] if here.is_dir() else []
    trained += sorted((Path.cwd() / "sessions").glob(f"*/train/{path.name}"), key=_weights_mtime, reverse=True)
    for folder in trained:
        if _weights_mtime(folder) > 0:
            return folder
    if path.name.removesuffix(".yaml") in shipped(MODELS):
        raise UserError(
            f"{name} is a model config, and no trained {path.name} was found in ./train or ./sessions/*/train; "
            f"train it with rig train SESSION --model {path.name}, then render with --model SESSION/train/{path.name}"
        )
    return path  # the renderer says what it expected


def _weights_mtime(folder: Path) -> float:
    """When the folder's newest weights were written; 0 when it holds none."""
    files = [folder / "export" / "model.pt", folder / "best.pt", folder / "model.pt"]
    return max((f.stat().st_mtime for f in files if f.is_file()), default=0.0)
