"""Run by the slow tests with the Python of an environment that has Unsloth: trains the given model
for a few steps with the unsloth backend and prints the metrics as JSON (a line starting RESULT).

    .venv-unsloth/bin/python tests/trainer/unsloth_check.py MODEL_DIR OUT_DIR STEPS
    .venv-unsloth/bin/python tests/trainer/unsloth_check.py MODEL_DIR OUT_DIR 2 --4bit --rank 8 \
        --alpha 16 --target-modules q_proj,v_proj --batch-size 4 --max-length 256
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.bitext import bitext_rows
from trainer.backends.unsloth_backend import UnslothBackend
from trainer.config import TrainConfig, module_names

parser = argparse.ArgumentParser()
parser.add_argument("model", type=Path)
parser.add_argument("out", type=Path)
parser.add_argument("steps", type=int)
parser.add_argument("--4bit", dest="four_bit", action="store_true", help="QLoRA: the base model in 4-bit NF4")
parser.add_argument("--rank", type=int, default=16)
parser.add_argument("--alpha", type=int, default=32)
parser.add_argument("--dropout", type=float, default=0.0)
parser.add_argument("--target-modules", default="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
parser.add_argument("--learning-rate", type=float, default=2e-4)
parser.add_argument("--batch-size", type=int, default=8)
parser.add_argument("--max-length", type=int, default=320)
args = parser.parse_args()

config = TrainConfig(
    max_steps=args.steps,
    load_in_4bit=args.four_bit,
    lora_r=args.rank,
    lora_alpha=args.alpha,
    lora_dropout=args.dropout,
    target_modules=module_names(args.target_modules),
    learning_rate=args.learning_rate,
    batch_size=args.batch_size,
    max_length=args.max_length,
)
result = UnslothBackend().train(bitext_rows(32), args.model, config, args.out)
print("RESULT " + json.dumps({**result.metrics(), "adapter_dir": str(result.adapter_dir)}))
