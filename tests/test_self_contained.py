"""The repository is self-contained: tests, benchmarks, scripts and CI read nothing outside it by default.

Code may take a path outside as an explicit argument (scripts/make_test_fixtures.py SHARED_DIR), but
no string in code (docstrings and comments aside) may name one: not the sibling ../shared folder the
data came from, nor a machine's absolute /work/ path.
"""

import ast
import json
import os
import re
from pathlib import Path

import pytest

from tests.support import paths
from tests.support.paths import FIXTURES, PROJECT, SLACK_SPECS
from tests.support.slack_stub import SPEC_METHODS

SCANNED = ("tests", "bench", "scripts", ".ci")
OUTSIDE = re.compile(r"\.\./shared|/work/|^shared(/|$)")  # "shared" alone: PROJECT.parent / "shared"
SHELL_OUTSIDE = re.compile(r"\.\./shared|/work/|/shared\b")


def scanned_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((PROJECT / top).rglob("*")):
            if not path.is_file() or ".cache" in path.parts or "__pycache__" in path.parts:
                continue
            if path.suffix in (".py", ".sh") or (top == ".ci" and not path.suffix):
                files.append(path)
    return [path for path in files if path != Path(__file__).resolve()]


def docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def outside_references(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path
    if path.suffix == ".py":
        tree = ast.parse(text)
        skip = docstrings(tree)
        return [
            f"{name}:{node.lineno}: {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and OUTSIDE.search(node.value)
        ]
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = re.sub(r"(^|\s)#.*", "", line)  # shell comments
        if SHELL_OUTSIDE.search(code):
            found.append(f"{name}:{number}: {line.strip()}")
    return found


def test_the_scan_sees_the_code_it_guards():
    names = {str(path.relative_to(PROJECT)) for path in scanned_files()}
    assert {"tests/support/paths.py", "bench/calibrate_judge.py", "scripts/test.sh", ".ci/run"} <= names
    assert outside_references(PROJECT / "scripts" / "make_demo_sample.py") == []  # its usage line is a docstring


def test_nothing_in_tests_bench_scripts_or_ci_names_a_path_outside_the_repository():
    found = [hit for path in scanned_files() for hit in outside_references(path)]
    assert found == []


OLD_WAYS = ['SHARED = PROJECT.parent / "shared"', 'DATA = "../shared/data"', 'X = "/work/shared"']


@pytest.mark.parametrize("text", OLD_WAYS)
def test_the_scan_catches_the_old_ways(tmp_path, text):
    probe = tmp_path / "probe.py"
    probe.write_text(f'"""A docstring may say ../shared."""\n{text}  # comment: ../shared\n')
    assert len(outside_references(probe)) == 1
    shell = tmp_path / "probe.sh"
    shell.write_text(f"# a comment may say ../shared\ncp {text.split('= ')[1]} here\n")
    assert len(outside_references(shell)) == (0 if "PROJECT" in text else 1)


def test_every_path_the_tests_use_is_inside_the_repository():
    for name, value in vars(paths).items():
        if isinstance(value, Path):
            assert Path(os.path.abspath(value)).is_relative_to(PROJECT), name
    assert paths.BITEXT.is_file()
    for suffix in (".jsonl", ".csv"):
        assert paths.BITEXT_SUBSET.with_suffix(suffix).is_file()


def test_every_fixture_folder_says_where_it_came_from_and_under_what_license():
    for folder in (path for path in FIXTURES.iterdir() if path.is_dir()):
        assert (folder / "README.md").is_file(), folder.name
        assert (folder / "LICENSE.txt").is_file() or any((folder / "LICENSES").glob("*")), folder.name


def test_the_trimmed_web_api_spec_holds_exactly_the_methods_the_stub_answers():
    spec = json.loads((SLACK_SPECS / "web-api" / "slack_web_openapi_v2.json").read_text())
    assert set(spec["paths"]) == {f"/{method}" for method in SPEC_METHODS}
    refs = set(re.findall(r'"#/definitions/([^"]+)"', json.dumps(spec)))
    assert refs <= set(spec["definitions"])  # nothing referenced was trimmed away
