"""Golden outputs: `compare --json` of every built-in, seed 0.

Regenerate after an intended change with ``STEPDEAL_REGEN=1 pytest tests/test_golden.py``
and review the diff: a golden file changes only when the model or a built-in does.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from stepdeal.api import compare
from stepdeal.scenario import builtin_names

GOLDEN = Path(__file__).parent / "golden"
VOLATILE = {"seconds"}  # wall-clock time in the solver stats


def _strip(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if k not in VOLATILE}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def _same(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), path
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (path, a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (path, sorted(a), sorted(b))
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize("name", builtin_names())
def test_golden_compare(name: str) -> None:
    got = _strip(json.loads(json.dumps({p: r.to_dict() for p, r in compare(name, rng=0).items()})))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("STEPDEAL_REGEN") or not path.exists():
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        if not os.environ.get("STEPDEAL_REGEN"):
            pytest.fail(
                f"golden file {path.name} was missing and has been written; review and commit it"
            )
    _same(got, json.loads(path.read_text()))
