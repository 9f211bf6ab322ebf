"""The layout shows the architecture: bot -> supportbot <- trainer, with cli (the composition root)
on top; nothing imports upward, and nothing but cli imports cli. ``simulation`` (``supportbot
simulate``) drives the real bot from outside, as Slack and its people would: it sits beside cli,
uses the core and Slack's SDK for signatures, and never imports the bot or the trainer in-process."""

import ast
from pathlib import Path

from tests.support.paths import PROJECT


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_neither_bot_nor_trainer():
    for path in (PROJECT / "supportbot").rglob("*.py"):
        assert not imported_packages(path) & {"bot", "trainer", "simulation"}, path


def test_simulation_drives_the_bot_from_outside():
    for path in (PROJECT / "simulation").rglob("*.py"):
        assert not imported_packages(path) & {"bot", "trainer", "cli"}, path
    for package in ("supportbot", "bot", "trainer"):
        for path in (PROJECT / package).rglob("*.py"):
            assert "simulation" not in imported_packages(path), path


def test_bot_never_imports_trainer():
    for path in (PROJECT / "bot").rglob("*.py"):
        assert "trainer" not in imported_packages(path), path


def test_services_never_import_bolt():
    for path in (PROJECT / "supportbot").rglob("*.py"):
        assert not imported_packages(path) & {"slack_bolt", "slack_sdk"}, path


def test_the_bot_and_core_import_no_torch():
    import subprocess
    import sys

    code = (
        "import sys, bot.app, bot.serve, supportbot.services, cli.main, supportbot.schedule;"
        "print(sorted(m for m in ('torch', 'transformers', 'peft', 'trainer', 'unsloth') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_nothing_imports_the_entry_point():
    for package in ("supportbot", "bot", "trainer", "simulation"):
        for path in (PROJECT / package).rglob("*.py"):
            assert "cli" not in imported_packages(path), path


def test_trainer_never_imports_slack():
    for path in (PROJECT / "trainer").rglob("*.py"):
        assert not imported_packages(path) & {"bot", "slack_bolt", "slack_sdk"}, path
