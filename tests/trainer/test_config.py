"""TrainConfig from the settings: every training setting reaches the trainer."""

import pytest

from supportbot.errors import ConfigError
from supportbot.settings import load_settings
from trainer.config import TrainConfig


def test_defaults_train_on_everything_with_early_stopping():
    settings = load_settings()
    config = TrainConfig.from_settings(settings)
    assert settings.train_max_examples == 0  # every approved example
    assert config.early_stopping and config.epochs == 3.0 and config.validation_percent == 10
    assert (config.lora_r, config.lora_alpha, config.lora_dropout) == (16, 32, 0.0)
    assert config.target_modules == ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    assert (config.learning_rate, config.batch_size, config.max_length) == (2e-4, 8, 320)
    assert config.load_in_4bit is False


def test_every_training_setting_reaches_the_config(monkeypatch):
    for name, value in {
        "TRAIN_EPOCHS": "auto",
        "TRAIN_MAX_EPOCHS": "7",
        "TRAIN_VALIDATION_PERCENT": "20",
        "LORA_RANK": "8",
        "LORA_ALPHA": "24",
        "LORA_DROPOUT": "0.1",
        "LORA_TARGET_MODULES": " q_proj, v_proj ,",
        "LEARNING_RATE": "5e-4",
        "TRAIN_BATCH_SIZE": "6",
        "TRAIN_MAX_LENGTH": "512",
        "TRAIN_QUANTIZATION": "4bit",
        "TRAIN_DTYPE": "float32",
    }.items():
        monkeypatch.setenv(name, value)
    config = TrainConfig.from_settings(load_settings())
    assert config.early_stopping and config.epochs == 7.0 and config.validation_percent == 20
    assert (config.lora_r, config.lora_alpha, config.lora_dropout) == (8, 24, 0.1)
    assert config.target_modules == ("q_proj", "v_proj")
    assert (config.learning_rate, config.batch_size, config.max_length) == (5e-4, 6, 512)
    assert config.accumulation == (3, 2)  # 6 a step, in passes of 3
    assert config.load_in_4bit and config.dtype == "float32"


def test_a_number_of_epochs_trains_exactly_that_many_on_all_rows(monkeypatch):
    monkeypatch.setenv("TRAIN_EPOCHS", "2.5")
    config = TrainConfig.from_settings(load_settings())
    assert config.epochs == 2.5 and not config.early_stopping


def test_overrides_win_over_the_settings():
    config = TrainConfig.from_settings(load_settings(), epochs=1.0, early_stopping=False, max_steps=4)
    assert (config.epochs, config.early_stopping, config.max_steps) == (1.0, False, 4)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TRAIN_EPOCHS", "some", "TRAIN_EPOCHS"),
        ("TRAIN_EPOCHS", "0", "TRAIN_EPOCHS"),
        ("TRAIN_QUANTIZATION", "8bit", "TRAIN_QUANTIZATION"),
        ("LORA_RANK", "0", "LORA_RANK"),
        ("TRAIN_MAX_EXAMPLES", "-1", "TRAIN_MAX_EXAMPLES"),
    ],
)
def test_bad_training_settings_name_the_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_target_modules_that_name_nothing_are_refused(monkeypatch):
    monkeypatch.setenv("LORA_TARGET_MODULES", " , ")
    with pytest.raises(ValueError, match="target_modules must name at least one module"):
        TrainConfig.from_settings(load_settings())
