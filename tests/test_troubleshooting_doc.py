"""docs/TROUBLESHOOTING.md lists every input error the code can raise (so a new error cannot go undocumented)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _problem_fragments() -> list[tuple[str, str]]:
    """(file, the longest literal piece of the problem text) for every PortraitInputError(input, problem, fix)."""
    found = []
    for path in sorted([*ROOT.joinpath("pipelines").rglob("*.py"), *ROOT.joinpath("nodes").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PortraitInputError" and len(node.args) >= 3:
                problem = node.args[1]
                pieces = [problem.value] if isinstance(problem, ast.Constant) else [
                    part.value for part in getattr(problem, "values", []) if isinstance(part, ast.Constant)
                ]
                found.append((str(path.relative_to(ROOT)), max(pieces, key=len, default="").strip()))
    return found


def test_every_input_error_is_in_the_troubleshooting_table():
    table = (ROOT / "docs" / "TROUBLESHOOTING.md").read_text()
    fragments = _problem_fragments()
    assert len(fragments) > 40
    missing = [(path, text) for path, text in fragments if text and text.replace("|", "\\|") not in table]
    assert not missing, f"add these errors to docs/TROUBLESHOOTING.md: {missing}"
