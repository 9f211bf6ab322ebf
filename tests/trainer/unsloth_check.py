"""Run by tests/slow/test_training.py with the Python of an environment that has Unsloth:
trains the given model for a few steps with the unsloth backend and prints the metrics as JSON.

    .venv-unsloth/bin/python tests/trainer/unsloth_check.py MODEL_DIR OUT_DIR STEPS
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.bitext import bitext_rows
from trainer.backends.unsloth_backend import UnslothBackend
from trainer.config import TrainConfig

model, out, steps = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
result = UnslothBackend().train(bitext_rows(32), model, TrainConfig(max_steps=steps, batch_size=8, max_length=320), out)
print("RESULT " + json.dumps({**result.metrics(), "adapter_dir": str(result.adapter_dir)}))
