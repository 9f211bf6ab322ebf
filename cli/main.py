"""The ``supportbot`` group, assembled from one module per command group.

supportbot models prepare
supportbot ask "How do I cancel my order?"
supportbot serve --http --port 3000
supportbot import path/to/qa.jsonl && supportbot dataset build
supportbot train / eval / demo / digest / worker / adapters / rollback
supportbot simulate  (the learning loop, end to end, against a Slack stand-in)
supportbot review [list | approve ID | reject ID]
"""

from __future__ import annotations

import io
import os
import sys

import click

from cli import ask, data, reports, review, serve, simulate, training
from cli import models as models_group


@click.group()
@click.version_option(package_name="supportbot")
def main() -> None:
    """Two models answer your support questions side by side; the numbers decide."""
    # Line by line into docker logs, CI and pipes, not in 8 KB blocks.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True)
    if not sys.stderr.isatty():  # libraries' tqdm bars are one endless line in a log; ours say it
        os.environ.setdefault("TQDM_DISABLE", "1")


for command in (
    models_group.models,
    ask.ask,
    data.import_,
    data.export,
    data.dataset,
    training.train,
    training.worker,
    training.adapters,
    training.rollback,
    reports.eval_,
    reports.digest,
    reports.demo,
    simulate.simulate,
    review.review,
    serve.serve,
):
    main.add_command(command)
