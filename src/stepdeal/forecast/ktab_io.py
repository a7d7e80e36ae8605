"""Read KTAB's SMP input files: the CSV table and the XML scenario.

Formats of KAPSARC's KTAB (``examples/smp/libsrc/smpread.cpp`` and ``smpSchema.xsd``,
MIT licence). Every problem is reported as an :class:`ActorTableError` naming the line.

CSV::

    <ScenarioName>,<description>,<numActors>,<numDims>,
    Actor,Description,Power,Pstn1,Sal1,Pstn2,Sal2,...,
    SActor-00, Random Spatial Actor, 102.543, 75.79, 49.53, 6.37, 5.91, ...

The third title may be ``Power`` or ``Influence``; the position titles (``Pstn1`` ...)
name the dimensions (``Dim1`` ... when blank); trailing commas are optional; quoted
fields may hold commas. Positions and saliences are on 0–100; KTAB's rules apply (see
:mod:`stepdeal.forecast.actors`).

XML: ``<Scenario>`` with ``name``, ``desc``, ``prngSeed``, ``ModelParameters`` (KTAB's
nine switches), ``Dimensions/dName``, ``Actors/Actor`` (``name``, ``description``,
``capability``, ``Position/dCoord``, ``Salience/dSal``) and optional
``IdealAdjustment/iaPair`` (``adjustingIdeal``, ``referencePos``, ``adjust``: the rate at
which the first actor's ideal moves toward the second's position; KTAB starts from the
identity matrix and overwrites the listed entries). The file is parsed by the standard
library's expat parser; documents with a DTD or entity declarations are refused.
"""

from __future__ import annotations

import csv
import io
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

import numpy as np

from .actors import MAX_ACTORS, MAX_CAPABILITY, MIN_ACTORS, ActorTable, ActorTableError
from .smp import KTAB_PARAMETERS, SmpParams, canonical

Problem = tuple[str, str, str]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ActorTableError(
            str(path), [("", f"cannot read the file ({e.strerror})", "check the path")]
        ) from None


def _number(text: str, where: str, what: str, problems: list[Problem]) -> float:
    """``text`` as a finite float, or ``nan`` after recording a problem."""
    t = text.strip()
    try:
        v = float(t)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        shown = "is empty" if t == "" else f"{t!r} is not a number"
        problems.append((where, f"{what} {shown}", "write a number"))
        return math.nan
    return v


def _check_ranges(
    where: str, cap: float, pos: list[float], sal: list[float], problems: list[Problem]
) -> None:
    if not math.isnan(cap) and not 0 <= cap <= MAX_CAPABILITY:
        problems.append((where, f"capability {cap:g} outside [0, 1e8]", "give 0 <= capability"))
    for d, (x, s) in enumerate(zip(pos, sal, strict=True), 1):
        if not math.isnan(x) and not 0 <= x <= 100:
            problems.append((where, f"position {d} = {x:g} outside [0, 100]", "rescale to 0-100"))
        if not math.isnan(s) and not 0 <= s <= 100:
            problems.append((where, f"salience {d} = {s:g} outside [0, 100]", "give 0-100"))
    total = sum(s for s in sal if not math.isnan(s))
    if total > 100 + 1e-9:
        problems.append(
            (where, f"total salience {total:g} exceeds 100", "scale the saliences to sum <= 100")
        )


# ----------------------------------------------------------------------------- CSV


def load_ktab_csv(path: str | Path) -> ActorTable:
    """A KTAB SMP CSV file as a validated :class:`ActorTable` (0–100 scale)."""
    path = Path(path)
    src = str(path)
    try:
        text = _read(path).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ActorTableError(
            src, [("", f"not UTF-8 text ({e.reason})", "save as UTF-8")]
        ) from None
    rows: list[tuple[int, list[str]]] = []
    for no, row in enumerate(csv.reader(io.StringIO(text), skipinitialspace=True), 1):
        cells = [c.strip() for c in row]
        while cells and cells[-1] == "":
            cells.pop()
        if cells:
            rows.append((no, cells))
    if not rows:
        raise ActorTableError(
            src, [("", "the file is empty", "start with `name,description,nActors,nDims`")]
        )
    problems: list[Problem] = []
    no, head = rows[0]
    if len(head) < 4:
        raise ActorTableError(
            src,
            [
                (
                    f"line {no}",
                    f"header has {len(head)} fields",
                    "write `<ScenarioName>,<description>,<numActors>,<numDims>`",
                )
            ],
        )
    if len(rows) < 2:
        raise ActorTableError(
            src,
            [(f"line {no}", "no column-title line follows", "add `Actor,Description,Power,...`")],
        )
    counts = []
    for field_, what in ((head[2], "number of actors"), (head[3], "number of dimensions")):
        try:
            counts.append(int(field_))
        except ValueError:
            problems.append((f"line {no}", f"{what} {field_!r} is not a whole number", "fix it"))
    if problems:
        raise ActorTableError(src, problems)
    n_act, n_dim = counts
    if n_dim < 1:
        problems.append((f"line {no}", f"{n_dim} dimensions", "give at least one dimension"))
    if not MIN_ACTORS <= n_act <= MAX_ACTORS:
        problems.append(
            (f"line {no}", f"{n_act} actors", f"give between {MIN_ACTORS} and {MAX_ACTORS}")
        )
    if problems:
        raise ActorTableError(src, problems)
    width = 3 + 2 * n_dim
    no_t, titles = rows[1]
    if len(titles) != width:
        problems.append(
            (
                f"line {no_t}",
                f"{len(titles)} column titles, expected {width}",
                f"write Actor,Description,Power, then a position and a salience title for each"
                f" of the {n_dim} dimensions",
            )
        )
    elif titles[2].lower() not in ("power", "influence"):
        problems.append(
            (f"line {no_t}", f"third column titled {titles[2]!r}", "title it Power or Influence")
        )
    dims = tuple(
        (titles[3 + 2 * d] if 3 + 2 * d < len(titles) else "") or f"Dim{d + 1}"
        for d in range(n_dim)
    )
    if len(set(dims)) != n_dim:
        problems.append((f"line {no_t}", "dimension names repeat", "give each dimension a name"))
    data = rows[2:]
    if len(data) != n_act:
        problems.append(
            (
                f"line {no}",
                f"the header says {n_act} actors but {len(data)} actor lines follow",
                "make the count and the lines agree",
            )
        )
    names: list[str] = []
    descs: list[str] = []
    cap = np.full(len(data), np.nan)
    pos = np.full((len(data), n_dim), np.nan)
    sal = np.full((len(data), n_dim), np.nan)
    for a, (no_a, cells) in enumerate(data):
        where = f"line {no_a}"
        if len(cells) != width:
            problems.append(
                (
                    where,
                    f"{len(cells)} fields, expected {width}",
                    "give name, description, capability, then position and salience per dimension",
                )
            )
            names.append(cells[0] if cells else "")
            descs.append("")
            continue
        name = cells[0]
        where = f"line {no_a} ({name})" if name else where
        if not name:
            problems.append((where, "empty actor name", "name the actor"))
        if name in names:
            problems.append((where, f"actor {name!r} appears twice", "give unique names"))
        names.append(name)
        descs.append(cells[1])
        cap[a] = _number(cells[2], where, "capability", problems)
        for d in range(n_dim):
            pos[a, d] = _number(cells[3 + 2 * d], where, f"position on {dims[d]}", problems)
            sal[a, d] = _number(cells[4 + 2 * d], where, f"salience on {dims[d]}", problems)
        _check_ranges(where, float(cap[a]), list(pos[a]), list(sal[a]), problems)
    if problems:
        raise ActorTableError(src, problems)
    return ActorTable(
        name=head[0],
        dimensions=dims,
        actors=tuple(names),
        capability=cap,
        position=pos,
        salience=sal,
        descriptions=tuple(descs),
        source=src,
        notes={"description": head[1]},
    ).validate()


# ----------------------------------------------------------------------------- XML


def _parse_xml(data: bytes, src: str) -> tuple[ET.Element, dict[int, int]]:
    """The document's root and, per element (by ``id``), the line it starts on. Refuses
    DTDs and entity declarations; external entities are never fetched."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    lines: dict[int, int] = {}
    stack: list[ET.Element] = []
    roots: list[ET.Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        el = ET.Element(tag.rsplit("}", 1)[-1], attrs)
        lines[id(el)] = parser.CurrentLineNumber
        (stack[-1].append(el) if stack else roots.append(el))
        stack.append(el)

    def end(tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            el = stack[-1]
            el.text = (el.text or "") + text

    def refuse(*_: object) -> int:
        raise ActorTableError(
            src,
            [
                (
                    f"line {parser.CurrentLineNumber}",
                    "DTDs and entity declarations are not accepted",
                    "remove the <!DOCTYPE ...> block",
                )
            ],
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise ActorTableError(
            src,
            [(f"line {e.lineno}", f"malformed XML ({expat.ErrorString(e.code)})", "fix it")],
        ) from None
    return roots[0], lines


def load_ktab_xml(path: str | Path) -> tuple[ActorTable, SmpParams]:
    """A KTAB SMP XML scenario as a validated :class:`ActorTable` and its
    :class:`~stepdeal.forecast.smp.SmpParams` (model parameters, ideal adjustments and
    ``prngSeed``; a seed of 0, KTAB's "random", becomes ``None``)."""
    path = Path(path)
    src = str(path)
    root, lines = _parse_xml(_read(path), src)
    problems: list[Problem] = []

    def line(el: ET.Element) -> str:
        return f"line {lines.get(id(el), '?')}"

    def child(el: ET.Element, tag: str, required: bool = True) -> ET.Element | None:
        c = el.find(tag)
        if c is None and required:
            problems.append((line(el), f"<{el.tag}> has no <{tag}>", f"add <{tag}>"))
        return c

    def text(el: ET.Element | None) -> str:
        return "" if el is None else (el.text or "").strip()

    if root.tag != "Scenario":
        raise ActorTableError(src, [(line(root), f"root is <{root.tag}>", "use <Scenario>")])
    name = text(child(root, "name")) or path.stem
    desc = text(child(root, "desc", required=False))
    seed: int | None = None
    seed_el = child(root, "prngSeed", required=False)
    if seed_el is not None and text(seed_el):
        try:
            seed = int(text(seed_el))
            if not 0 <= seed < 2**64:
                raise ValueError
        except ValueError:
            problems.append((line(seed_el), f"prngSeed {text(seed_el)!r}", "give 0 <= seed < 2^64"))
            seed = None
        seed = seed or None
    settings: dict[str, str] = {}
    mp = child(root, "ModelParameters", required=False)
    for el in [] if mp is None else list(mp):
        if el.tag not in KTAB_PARAMETERS:
            problems.append(
                (
                    line(el),
                    f"unknown model parameter <{el.tag}>",
                    f"use {', '.join(KTAB_PARAMETERS)}",
                )
            )
            continue
        try:
            settings[KTAB_PARAMETERS[el.tag][0]] = canonical(el.tag, text(el))
        except ValueError as e:
            problems.append((line(el), str(e), "use one of the listed values"))
    dims_el = child(root, "Dimensions")
    dims = tuple(text(d) for d in ([] if dims_el is None else dims_el.findall("dName")))
    if dims_el is not None and not dims:
        problems.append((line(dims_el), "no <dName>", "name at least one dimension"))
    for d_el in [] if dims_el is None else dims_el.findall("dName"):
        if not text(d_el):
            problems.append((line(d_el), "empty <dName>", "name the dimension"))
    if len(set(dims)) != len(dims):
        problems.append(
            (line(dims_el) if dims_el is not None else "", "dimension names repeat", "rename")
        )
    actors_el = child(root, "Actors")
    actor_els = [] if actors_el is None else actors_el.findall("Actor")
    names: list[str] = []
    descs: list[str] = []
    caps: list[float] = []
    pos: list[list[float]] = []
    sal: list[list[float]] = []
    for a_el in actor_els:
        a_name = text(child(a_el, "name"))
        where = f"{line(a_el)} (actor {a_name!r})"
        if not a_name:
            problems.append((line(a_el), "empty actor <name>", "name the actor"))
        elif a_name in names:
            problems.append((where, f"actor {a_name!r} appears twice", "give unique names"))
        names.append(a_name)
        descs.append(text(child(a_el, "description", required=False)))
        cap_el = child(a_el, "capability")
        cap = math.nan
        if cap_el is not None:
            cap = _number(
                text(cap_el), f"{line(cap_el)} (actor {a_name!r})", "capability", problems
            )
        caps.append(cap)
        vectors = []
        for group, item, what in (
            ("Position", "dCoord", "position"),
            ("Salience", "dSal", "salience"),
        ):
            g_el = child(a_el, group)
            items = [] if g_el is None else g_el.findall(item)
            if g_el is not None and len(items) != len(dims):
                problems.append(
                    (
                        f"{line(g_el)} (actor {a_name!r})",
                        f"{len(items)} <{item}>, expected {len(dims)}",
                        f"give one <{item}> per dimension",
                    )
                )
            values = [
                _number(
                    text(it),
                    f"{line(it)} (actor {a_name!r})",
                    f"<{item}> {d + 1} ({dims[d] if d < len(dims) else '?'}) {what}",
                    problems,
                )
                for d, it in enumerate(items)
            ]
            values += [math.nan] * (len(dims) - len(values))
            vectors.append(values[: len(dims)])
        pos.append(vectors[0])
        sal.append(vectors[1])
        _check_ranges(where, cap, vectors[0], vectors[1], problems)
    accommodation: list[tuple[str, str, float]] = []
    ia = child(root, "IdealAdjustment", required=False)
    for pair in [] if ia is None else ia.findall("iaPair"):
        who, ref = text(child(pair, "adjustingIdeal")), text(child(pair, "referencePos"))
        adj_el = child(pair, "adjust")
        rate = (
            _number(text(adj_el), line(pair), "adjust", problems)
            if adj_el is not None
            else math.nan
        )
        for n_ in (who, ref):
            if n_ not in names:
                problems.append(
                    (line(pair), f"unknown actor {n_!r} in <iaPair>", "use an actor's <name>")
                )
        if not math.isnan(rate) and not 0 <= rate <= 1:
            problems.append(
                (line(pair), f"adjust {rate:g} outside [0, 1]", "give a rate in [0, 1]")
            )
        accommodation.append((who, ref, rate))
    if not problems and accommodation:
        acc = np.eye(len(names))
        for who, ref, rate in accommodation:
            acc[names.index(who), names.index(ref)] = rate
        for i, a_name in enumerate(names):
            if acc[i].sum() > 1 + 1e-10:
                problems.append(
                    (
                        line(ia) if ia is not None else "",
                        f"{a_name}'s adjustment rates sum to {acc[i].sum():g} "
                        "(its own defaults to 1)",
                        "make each actor's rates, its own included, sum to at most 1",
                    )
                )
    if problems:
        raise ActorTableError(src, problems)
    table = ActorTable(
        name=name,
        dimensions=dims,
        actors=tuple(names),
        capability=np.array(caps, dtype=float),
        position=np.array(pos, dtype=float).reshape(len(names), len(dims)),
        salience=np.array(sal, dtype=float).reshape(len(names), len(dims)),
        descriptions=tuple(descs),
        source=src,
        notes={"description": desc},
    ).validate()
    params = SmpParams(**settings, accommodation=tuple(accommodation), seed=seed)  # type: ignore[arg-type]
    return table, params
