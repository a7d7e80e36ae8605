"""Load scenario files with errors a person can act on.

Every problem is reported as ``file:line: path: message. Fix: ...``; nothing is
defaulted silently for a required field and no traceback reaches the user.
YAML is read with ``yaml.safe_load`` semantics (no code from files).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .models import CrossReferenceErrors, Scenario
from .uncertainty import extract_uncertainty

BUILTIN_PACKAGE = "stepdeal.scenario.builtins"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file."""

    file: str
    line: int | None
    path: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}. Fix: {self.fix}"


class ScenarioError(Exception):
    """A scenario could not be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --------------------------------------------------------------------------- paths


def format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_of(root: yaml.Node | None, path: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest node of ``path`` found in the YAML tree."""
    node = root
    line = None if node is None else node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            if nxt is None:
                return line
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _duplicate_keys(
    node: yaml.Node | None, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], int]]:
    out: list[tuple[tuple[str | int, ...], int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = str(k.value)
            if key in seen:
                out.append(((*path, key), k.start_mark.line + 1))
            seen.add(key)
            out.extend(_duplicate_keys(v, (*path, key)))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out.extend(_duplicate_keys(v, (*path, i)))
    return out


# --------------------------------------------------------------------------- fixes

_FIXES = {
    "missing": "add the key {field}",
    "extra_forbidden": (
        "remove it or check its spelling (unknown keys are errors; see `stepdeal schema`)"
    ),
    "literal_error": "use one of {expected}",
    "float_parsing": "write a plain number",
    "float_type": "write a plain number",
    "int_parsing": "write a whole number",
    "int_type": "write a whole number",
    "int_from_float": "write a whole number",
    "bool_parsing": "write true or false",
    "bool_type": "write true or false",
    "string_type": "write text (quote it if YAML reads it as something else)",
    "string_pattern_mismatch": (
        "use letters, digits, '_', '-' or '.', starting with a letter or digit"
    ),
    "list_type": "write a list, e.g. [a, b]",
    "dict_type": "write a mapping of key: value",
    "model_type": "write a mapping of key: value",
    "greater_than": "use a number greater than {gt}",
    "greater_than_equal": "use a number of at least {ge}",
    "less_than": "use a number smaller than {lt}",
    "less_than_equal": "use a number of at most {le}",
    "too_short": "give at least {min_length} entries",
    "finite_number": "use a finite number",
    "union_tag_invalid": "set kind to one of {expected_tags}",
    "union_tag_not_found": "add kind: step_by_step | escalation | hybrid | grand_bargain | grit",
}


def _fix_for(err: Any) -> str:
    kind = err["type"]
    ctx = dict(err.get("ctx") or {})
    loc = err.get("loc") or ()
    ctx.setdefault("field", str(loc[-1]) if loc else "")
    template = _FIXES.get(kind, "see `stepdeal schema` for what this field accepts")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return _FIXES.get(kind, "see `stepdeal schema`")


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's union branch labels (e.g. 'step_by_step', 'literal[...]')."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (
            part.startswith(("literal[", "function-", "str-enum"))
            or part
            in {
                "step_by_step",
                "escalation",
                "hybrid",
                "grand_bargain",
                "grit",
                "veto_cost_number",
                "veto_cost_by_kind",
                "ConditionalVote",
                "BeliefVote",
            }
        ):
            continue
        out.append(part)
    return tuple(out)


def _problems_from_validation(
    err: ValidationError, file: str, root: yaml.Node | None
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for e in err.errors():
        ctx = e.get("ctx") or {}
        exc = ctx.get("error")
        if isinstance(exc, CrossReferenceErrors):
            for p in exc.problems:
                problems.append(
                    Problem(file, _line_of(root, p.path), format_path(p.path), p.message, p.fix)
                )
            continue
        loc = _clean_loc(tuple(e["loc"]))
        path = format_path(loc)
        if e["type"] == "missing":
            msg = "required key is missing"
        elif e["type"] == "extra_forbidden":
            msg = "unknown key"
        else:
            got = e.get("input")
            shown = repr(got) if not isinstance(got, dict | list) else type(got).__name__
            msg = f"{e['msg'][0].lower()}{e['msg'][1:]} (got {shown})"
        key = (path, e["type"])
        if key in seen:
            continue
        seen.add(key)
        problems.append(Problem(file, _line_of(root, loc), path, msg, _fix_for(e)))
    return problems


# --------------------------------------------------------------------------- loading


def parse_scenario(text: str, file: str = "<string>") -> Scenario:
    """Parse and validate scenario YAML ``text``; ``file`` names it in errors."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(
            [
                Problem(
                    file,
                    line,
                    "",
                    f"not valid YAML: {problem}",
                    "check indentation, colons and quotes on this line",
                )
            ]
        ) from None
    dupes = _duplicate_keys(root)
    if dupes:
        raise ScenarioError(
            [
                Problem(
                    file,
                    line,
                    format_path(path),
                    "key appears twice",
                    "keep one of the two entries",
                )
                for path, line in dupes
            ]
        )
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                Problem(
                    file,
                    1,
                    "",
                    "the file is not a mapping of keys",
                    "start from a built-in: `stepdeal show holdup-demo`",
                )
            ]
        )
    data, space, uproblems = extract_uncertainty(data)
    if uproblems:
        raise ScenarioError(
            [
                Problem(file, _line_of(root, p.path), format_path(p.path), p.message, p.fix)
                for p in uproblems
            ]
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems_from_validation(exc, file, root)) from None
    scenario._space = space
    return scenario


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with stepdeal."""
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin_text(name: str) -> str:
    folder = resources.files(BUILTIN_PACKAGE)
    return (folder / f"{name}.yaml").read_text(encoding="utf-8")


def resolve_source(ref: str | Path) -> tuple[str, str]:
    """Return ``(text, label)`` for a built-in name or a file path."""
    ref_s = str(ref)
    path = Path(ref_s)
    if ref_s in builtin_names() and not path.exists():
        return builtin_text(ref_s), f"<builtin {ref_s}>"
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(
                [
                    Problem(
                        str(path),
                        None,
                        "",
                        f"cannot read the file ({exc})",
                        "check the path and that it is a UTF-8 text file",
                    )
                ]
            ) from None
    names = ", ".join(builtin_names())
    raise ScenarioError(
        [
            Problem(
                ref_s,
                None,
                "",
                "no such file and no built-in scenario of that name",
                f"give a path to a YAML file or one of: {names}",
            )
        ]
    )


def load_scenario(ref: str | Path) -> Scenario:
    """Load a scenario by built-in name (``"iran-2011"``) or by file path."""
    text, label = resolve_source(ref)
    return parse_scenario(text, label)


def scenario_hash(scenario: Scenario) -> str:
    """Stable SHA-256 of the validated content (independent of YAML formatting).

    Fields at their defaults are left out, so adding an optional field to the format
    does not change the hash of existing scenarios."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    payload = json.dumps(data, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def json_schema() -> dict[str, Any]:
    """JSON Schema of the scenario format, generated from the same models."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "stepdeal scenario"
    return schema
