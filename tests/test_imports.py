"""One-way imports: data -> features -> (pipeline | models) -> train -> experiment -> CLIs.

Reads every module of the package (imports inside functions included) and fails on an import
that points up the flow, or sideways between the pipeline and the models (a model module knows
nothing of corpora or tf.data), and on any import of the benchmark scripts.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zoo"

# Each room and its rank; a module may import its own room and rooms of a LOWER rank only.
ROOMS = {
    "zoo.io": 0,
    "zoo.data": 1,
    "zoo.features": 2,
    "zoo.metrics": 2,
    "zoo.pipeline": 3,
    "models": 3,  # zoo.layers, zoo.losses, zoo.backbones, zoo.text_encoders, zoo.recipe, zoo.spec, the papers' models, zoo.registry
    "zoo.train": 4,
    "experiment": 5,  # zoo.profiles, zoo.experiment, zoo.baselines
    "apps": 6,  # zoo.weights, zoo.explain, zoo.cards, zoo.predict, zoo.finetune, zoo.export, zoo.__main__
}
EXPERIMENT = ("zoo.profiles", "zoo.experiment", "zoo.baselines")
APPS = ("zoo.weights", "zoo.explain", "zoo.cards", "zoo.predict", "zoo.finetune", "zoo.export", "zoo.__main__",
        "zoo.cli")


def room(module: str) -> str:
    for prefix in ("zoo.io", "zoo.data", "zoo.features", "zoo.metrics", "zoo.pipeline", "zoo.train"):
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    if module == "zoo.augment":  # training-batch augmentation: part of the pipeline room
        return "zoo.pipeline"
    if module == "zoo.pretrain":  # pre-training a backbone before the folds: part of the train room
        return "zoo.train"
    if module == "zoo.distribute":  # tf.distribute strategies and sharded extraction: part of the train room
        return "zoo.train"
    if any(module == p or module.startswith(p + ".") for p in EXPERIMENT):
        return "experiment"
    if any(module == p or module.startswith(p + ".") for p in APPS):
        return "apps"
    return "models"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path):
    """``(line, imported module)`` of every import in the file, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "zoo":  # from zoo import X: X is the module
                for alias in node.names:
                    yield node.lineno, f"zoo.{alias.name}"
            else:
                yield node.lineno, target


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def test_the_rooms_cover_the_package():
    found = {room(module_name(p)) for p in MODULES}
    assert found <= set(ROOMS) and {"zoo.data", "zoo.features", "models", "zoo.train", "experiment", "apps"} <= found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_upward_or_sideways_import(path):
    source = module_name(path)
    problems = []
    for line, target in imports(path):
        if target.split(".")[0] == "benchmarks":
            problems.append(f"{path.name}:{line} imports the benchmark scripts ({target})")
        if not target.startswith("zoo.") or target == "zoo":
            continue
        a, b = room(source), room(target)
        if a != b and ROOMS[b] >= ROOMS[a]:
            problems.append(f"{path.name}:{line}: {source} ({a}) imports {target} ({b})")
    assert not problems, "\n".join(problems)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The test would fail on an upward import (here a model module importing the pipeline)."""
    assert room("zoo.csa") == "models" and room("zoo.pipeline") == "zoo.pipeline"
    assert ROOMS[room("zoo.pipeline")] >= ROOMS[room("zoo.csa")]
    assert ROOMS[room("zoo.experiment")] >= ROOMS[room("zoo.train")]
