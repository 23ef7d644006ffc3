"""One exception tree: every error class lives in cadence.errors and is drawn in its docstring;
library code raises Cadence errors, not bare built-in ones."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import cadence
from cadence import errors

SRC = Path(cadence.__file__).parent
BUILTIN = {"ValueError", "TypeError", "KeyError", "RuntimeError", "Exception", "LookupError"}


def _modules() -> list[str]:
    return [
        m.name
        for m in pkgutil.walk_packages(cadence.__path__, "cadence.")
        if m.name != "cadence.__main__"
    ]


def test_every_exception_class_is_in_the_tree() -> None:
    found = {}
    for name in _modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("cadence"):
                found[obj.__qualname__] = obj.__module__
    assert found, "no exception class found at all"
    assert {m for m in found.values()} == {"cadence.errors"}, found
    drawn = _drawn_tree(errors.__doc__ or "")
    assert set(drawn) == set(found), "the docstring's tree and the classes differ"
    for qualname, parent in drawn.items():
        cls = getattr(errors, qualname)
        if parent is None:
            assert cls is errors.CadenceError
        else:  # drawn under its real base class
            assert cls.__bases__[0] is getattr(errors, parent), qualname


def _drawn_tree(doc: str) -> dict[str, str | None]:
    """class → the class drawn above it in the docstring's tree (``None`` for the root)."""
    out: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(
            r"^(\s*(?:[│ ]*[├└]── )?)([A-Z][A-Za-z]+(?:Error|NotFound|Expired))\b", line
        )
        if not match:
            continue
        depth, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        out[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return out


def _validators(tree: ast.AST) -> set[ast.AST]:
    """Functions pydantic calls as validators (there a ValueError is the protocol) and
    ``__getitem__`` methods (there a KeyError is)."""
    out: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names = {ast.unparse(d).split("(")[0] for d in node.decorator_list}
            if names & {"field_validator", "model_validator"}:
                out.update(ast.walk(node))
            if node.name == "__getitem__":  # the mapping protocol: a missing key is KeyError
                out.update(ast.walk(node))
    return out


def test_library_code_never_raises_a_bare_builtin_error() -> None:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed = _validators(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None and node not in allowed:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(target, ast.Name) and target.id in BUILTIN:
                    bad.append(f"{path.relative_to(SRC)}:{node.lineno} raises {target.id}")
    assert not bad, bad


def test_config_errors_are_value_errors_too() -> None:
    assert issubclass(errors.LeaderNotFound, errors.ConfigError)
    assert issubclass(errors.ConfigError, ValueError)
    assert issubclass(errors.GoogleError, errors.SourceError)
    assert errors.GraphError("x", calendar="a@b.c").source == "graph"
