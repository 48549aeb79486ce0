"""cors_lab/spec/README.md stays true: its step table lists exactly the step ids the code can emit,
each pointing at a function that exists, and every module has a recorded revision."""

from __future__ import annotations

import ast
import pathlib
import re

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "cors_lab"
README = PACKAGE / "spec" / "README.md"
# What a Fetch step id looks like: the algorithm, then the step and a few words.
STEP_ID = re.compile(r"^(cors-check-step\d+|http-redirect-fetch-step\d+|main-fetch|http-network-fetch)-[a-z0-9-]+$")


def _section(title: str) -> list[str]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"## {title}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start + 1 : end]


def _table(title: str) -> list[list[str]]:
    rows = [line for line in _section(title) if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]  # skip header, rule


def step_table() -> dict[str, str]:
    """step id -> "file:function", from the README."""
    table = {}
    for _outcome, step, rule in _table("Outcome -> step id -> rule"):
        step_id, where = step.strip("`"), rule.strip("`")
        assert step_id not in table, f"{step_id} is listed twice"
        table[step_id] = where
    return table


def emitted_step_ids() -> set[str]:
    """Every step id a module of cors_lab can produce: Fetch-shaped string constants, and the
    constants given as ``step=`` anywhere (an f-string there could not be listed, so it fails)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and STEP_ID.match(node.value):
                found.add(node.value)
            if isinstance(node, ast.keyword) and node.arg == "step":
                found |= _string_values(node.value, path)
    return found


def _string_values(expr: ast.expr, path: pathlib.Path) -> set[str]:
    """The string constants an expression can evaluate to (names and calls are traced elsewhere)."""
    assert not isinstance(expr, ast.JoinedStr), f"{path.name}: a step id built by an f-string"
    if isinstance(expr, ast.Constant):
        return {expr.value} if isinstance(expr.value, str) and expr.value else set()
    if isinstance(expr, ast.IfExp):
        return _string_values(expr.body, path) | _string_values(expr.orelse, path)
    if isinstance(expr, ast.BoolOp):
        return set().union(*(_string_values(value, path) for value in expr.values))
    return set()


def _defined(path: pathlib.Path, qualname: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    scope: list[ast.stmt] = tree.body
    for name in qualname.split("."):
        match = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name), None)
        if match is None:
            return False
        scope = match.body
    return True


def test_every_emitted_step_id_is_in_the_table_and_back():
    table, emitted = set(step_table()), emitted_step_ids()
    assert emitted - table == set(), "step ids the code emits but cors_lab/spec/README.md does not list"
    assert table - emitted == set(), "step ids cors_lab/spec/README.md lists but no code emits"


def test_every_rule_points_at_a_function_that_exists():
    for step_id, where in step_table().items():
        file, _, function = where.partition(":")
        path = PACKAGE.parent / file
        assert path.is_file(), f"{step_id}: {file} does not exist"
        assert _defined(path, function), f"{step_id}: {file} defines no {function}"


def test_step_ids_in_fetch_are_decided_in_the_function_the_table_names():
    # One hop from verdict to rule: a Fetch step id is written in the function the table names
    # (or, for the tainting ids, in the table that function reads).
    fetch = (PACKAGE / "spec" / "fetch.py").read_text(encoding="utf-8")
    tree = ast.parse(fetch)
    bodies = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    bodies[f"{node.name}.{item.name}"] = ast.get_source_segment(fetch, item)
        elif isinstance(node, ast.FunctionDef) and node.col_offset == 0:
            bodies[node.name] = ast.get_source_segment(fetch, node)
    for step_id, where in step_table().items():
        if not where.startswith("cors_lab/spec/fetch.py:") or step_id.startswith("main-fetch-tainting-"):
            continue
        assert f'"{step_id}"' in bodies[where.partition(":")[2]], f"{step_id} is not decided in {where}"


def spec_modules() -> list[str]:
    """Every module under cors_lab/spec/, as the README names it ("fetch.py", "canvas/webgl.py")."""
    spec = PACKAGE / "spec"
    return sorted(p.relative_to(spec).as_posix() for p in spec.rglob("*.py") if p.name != "__init__.py")


def test_every_spec_module_has_a_recorded_revision():
    recorded = " ".join(row[0] for row in _table("Which revision each module quotes"))
    for name in spec_modules():
        assert f"`{name}`" in recorded, f"{name} has no revision in cors_lab/spec/README.md"


def test_the_module_map_lists_every_module():
    listed = " ".join(row[0] for row in _table_rows_before_first_section())
    for name in spec_modules():
        assert f"`{name}`" in listed, f"{name} is missing from the module map"


def _table_rows_before_first_section() -> list[list[str]]:
    lines = README.read_text(encoding="utf-8").splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("## "))
    rows = [line for line in lines[:end] if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def test_the_deviation_table_is_the_profiles_deviations():
    from cors_lab.spec.profiles import deviation_table

    listed = [tuple(cell.strip("`") for cell in (row[0], row[1], row[2], row[4]))
              for row in _table("Engine profiles -> deviations")]
    expected = [(r["profile"], r["name"], r["kind"], r["measured"]) for r in deviation_table()]
    assert listed == expected, "cors_lab/spec/README.md's deviation table is not profiles.deviation_table()"


def test_every_deviation_is_asked_for_by_a_rule():
    """A deviation no rule asks for would be documented but never modelled."""
    from cors_lab.spec.profiles import DEVIATIONS

    sources = " ".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py") if p.name != "profiles.py")
    sources += (PACKAGE / "spec" / "profiles.py").read_text(encoding="utf-8").split("class Profile", 1)[1]
    for name in DEVIATIONS:
        assert f'has("{name}")' in sources, f"no rule asks for {name}"
