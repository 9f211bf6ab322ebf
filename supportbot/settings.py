"""Every setting supportbot reads, from the environment (or a ``.env`` file), typed.

This is the only module that reads the environment. A missing or malformed value stops start-up
with a :class:`ConfigError` that names the variable and says what to set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from supportbot.errors import ConfigError

SLACK_API_URL_DEFAULT = "https://slack.com/api/"


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("supportbot", appauthor=False))


class Settings(BaseSettings):
    """supportbot's configuration. Each field is read from the upper-case variable of its name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False, populate_by_name=True)

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias="SUPPORTBOT_DATA_DIR",
        description="directory for everything supportbot writes (embedded Redis, models, adapters)",
    )
    redis_url: str | None = Field(
        None, description="Redis URL such as redis://host:6379/0; unset starts an embedded Redis"
    )
    key_prefix: str = Field("sb:", validation_alias="SUPPORTBOT_KEY_PREFIX", description="prefix of every Redis key")
    redis_timeout_s: float = Field(
        5.0, gt=0, le=120, description="seconds before one Redis command times out (then it is retried with backoff)"
    )

    slack_bot_token: SecretStr | None = Field(None, description="the bot token, xoxb-...")
    slack_signing_secret: SecretStr | None = Field(None, description="the app's signing secret")
    slack_app_token: SecretStr | None = Field(None, description="an app-level token xapp-... for Socket Mode")
    slack_api_url: str = Field(SLACK_API_URL_DEFAULT, description="base URL of the Slack Web API")

    openai_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint for the prompted model; unset runs it locally"
    )
    openai_api_key: SecretStr | None = Field(None, description="API key for OPENAI_BASE_URL")
    prompted_model: str = Field("gpt-4o-mini", description="model name sent to OPENAI_BASE_URL")
    prompted_timeout_s: float = Field(30.0, gt=0, description="seconds before one API call times out")
    prompted_max_retries: int = Field(2, ge=0, le=10, description="retries of a failed API call")
    redact_prompts: bool = Field(
        False,
        description="remove personal data (cards, IBANs, SSNs, phones, emails) from questions sent to an API",
    )
    phone_region: str = Field(
        "US",
        min_length=2,
        max_length=2,
        description="country (ISO, e.g. GB) of phone numbers written without +code",
    )
    prompt_mode: Literal["static", "retrieval"] = Field(
        "static",
        description="static: PROMPT_DIR's examples; retrieval: the most similar approved answers, per question",
    )
    retrieval_k: int = Field(3, ge=0, le=20, description="approved past answers given as examples per question")
    prompt_token_budget: int = Field(
        2000, ge=200, le=100_000, description="most tokens of examples and knowledge in one retrieval prompt"
    )
    prompt_dir: Path | None = Field(
        None, description="directory with system.md, knowledge.md and examples.jsonl for the prompted model"
    )

    base_model: Path | None = Field(
        None, description="local Hugging Face model directory; unset uses the bundled SmolLM2-135M-Instruct"
    )
    finetuned_adapter: Path | None = Field(None, description="peft adapter directory for the fine-tuned side")
    finetuned_base_url: str | None = Field(
        None,
        description="OpenAI-compatible server (vLLM) serving the fine-tuned side's LoRA adapters by name; "
        "unset: in-process",
    )
    finetuned_api_key: SecretStr | None = Field(None, description="API key for FINETUNED_BASE_URL")
    finetuned_model: str | None = Field(
        None,
        description="the base model's name on FINETUNED_BASE_URL, asked before any adapter is active; "
        "unset: the first base model its /v1/models lists",
    )
    finetuned_model_prefix: str = Field(
        "supportbot-", description="adapter version vN is loaded on FINETUNED_BASE_URL and asked for as <prefix>vN"
    )
    finetuned_adapter_root: str | None = Field(
        None,
        description="ADAPTER_STORE as the server sees it (e.g. /adapters on a shared volume); "
        "unset: each version's stored path",
    )
    finetuned_hourly_rate_usd: float | None = Field(
        None, ge=0, description="hourly price of the FINETUNED_BASE_URL server, for its answers' cost; unset: unknown"
    )
    local_dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="dtype of the local model; auto: bfloat16 where the hardware has it, else float32"
    )
    train_dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="training precision; auto: bfloat16 where native, float16 on older GPUs, else float32"
    )
    hardware_bf16: Literal["auto", "yes", "no"] = Field(
        "auto", description="does the hardware do bf16 natively? auto asks torch; no treats it as missing (AVX2 CPUs)"
    )
    max_new_tokens: int = Field(256, ge=1, le=4096, description="longest answer in tokens")
    local_batch_size: int = Field(
        16, ge=1, le=256, description="most questions one local side generates together in one batch"
    )
    local_batch_window_ms: float = Field(
        20.0, ge=0, le=5000, description="how long a local side waits after a question for others to batch with it"
    )

    presentation: Literal["labelled", "blind"] = Field(
        "labelled", description="labelled shows model names; blind shows A/B in random order"
    )
    max_question_chars: int = Field(2000, ge=10, description="longest question accepted")
    answer_workers: int = Field(
        16, ge=1, le=64, description="questions answered at the same time (a local side batches them together)"
    )
    max_pending_questions: int = Field(
        100, ge=0, description="questions waiting for an answer before people are told to retry"
    )
    responder_timeout_s: float = Field(180.0, gt=0, description="seconds to wait for one responder")
    local_hourly_rate_usd: float = Field(
        0.10, ge=0, description="hourly price of the machine running the local model, for its cost"
    )
    up_reactions: str = Field("+1,thumbsup", description="comma-separated emoji names that count as 👍")
    down_reactions: str = Field("-1,thumbsdown", description="comma-separated emoji names that count as 👎")
    correction_prefix: str = Field(
        "correction:", min_length=1, description="a thread reply starting with this is a correction"
    )
    trusted_users: str = Field(
        "",
        description="comma-separated Slack user ids (U…) or user-group ids (S…) whose corrections count at once",
    )
    reviewers: str = Field("", description="comma-separated user or user-group ids who review; empty: TRUSTED_USERS")
    review_channel: str | None = Field(None, description="channel id where corrections wait for review")
    min_upvoters: int = Field(
        2,
        ge=1,
        le=50,
        description="distinct people other than the asker whose net 👍 an answer needs before it is training data",
    )
    eval_percent: int = Field(10, ge=1, le=50, description="share of questions held out for evaluation, in %")
    adapter_store: str | None = Field(
        None, description="where adapters are stored: a directory or an fsspec URL; unset: <data dir>/adapters"
    )
    admin_users: str = Field("", description="comma-separated user or user-group ids allowed /retrain and rollback")
    gate_confidence: float = Field(
        0.95,
        ge=0,
        lt=1,
        description="confidence the gate's paired test needs that the candidate beats the live adapter; 0: none",
    )
    promote_margin: float = Field(
        0.02, ge=0, le=1, description="accuracy a candidate must gain over the live adapter to be promoted"
    )
    min_new_examples: int = Field(20, ge=0, description="approved examples needed since the last version to retrain")
    retrain_cron: str = Field("0 3 * * mon", description="when scheduled retraining runs (crontab fields)")
    timezone: str = Field("UTC", description="time zone of RETRAIN_CRON and DIGEST_CRON, e.g. Europe/Berlin")
    digest_channel: str | None = Field(None, description="channel id (C…) where the weekly digest is posted")
    digest_cron: str = Field("0 9 * * mon", description="when the weekly digest is posted (crontab fields)")
    digest_weeks: int = Field(8, ge=2, le=52, description="weeks the digest's chart looks back")
    training_worker: Literal["embedded", "external"] = Field(
        "embedded",
        description="embedded: `serve` runs the training worker in a child process; external: `supportbot worker`s do",
    )
    trainer_backend: Literal["auto", "peft", "unsloth"] = Field("auto", description="auto: unsloth on CUDA, else peft")
    train_max_examples: int = Field(
        0,
        ge=0,
        description="most training examples per run, corrections and votes first, then seeds by label; 0: all",
    )
    correction_weight: int = Field(
        5,
        ge=1,
        le=10,
        description="times each approved correction is trained on per epoch (the answers people fixed count more)",
    )
    train_epochs: Literal["auto"] | Annotated[float, Field(gt=0, le=20)] = Field(
        "auto",
        description="passes over the training examples; auto: early stopping on a held-out slice's loss",
    )
    train_max_epochs: int = Field(3, ge=1, le=20, description="most passes when TRAIN_EPOCHS=auto")
    train_validation_percent: int = Field(
        10, ge=1, le=50, description="share of training rows held out for early stopping (TRAIN_EPOCHS=auto), in %"
    )
    lora_rank: int = Field(16, ge=1, le=1024, description="LoRA rank")
    lora_alpha: int = Field(32, ge=1, description="LoRA alpha (the update is scaled by alpha / rank)")
    lora_dropout: float = Field(0.0, ge=0, lt=1, description="dropout on the LoRA input")
    lora_target_modules: str = Field(
        "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
        min_length=1,
        description="comma-separated module names that get LoRA weights",
    )
    learning_rate: float = Field(2e-4, gt=0, lt=1, description="peak learning rate of LoRA training (linear decay)")
    train_batch_size: int = Field(8, ge=1, le=1024, description="examples per optimisation step")
    train_max_length: int = Field(320, ge=16, le=8192, description="longest training example in tokens")
    train_quantization: Literal["none", "4bit"] = Field(
        "none",
        description="4bit: QLoRA (the base model in 4-bit NF4; for CUDA GPUs, the peft backend refuses it on a CPU)",
    )
    gate_cache_days: float = Field(
        14,
        ge=0,
        le=365,
        description="days the gate keeps each answer for exactly the same request (model, prompt, limit); 0: off",
    )
    eval_limit: int = Field(
        0, ge=0, description="eval-split questions each model answers at the gate; 0: the whole eval split"
    )
    judge_threshold: float = Field(
        0.49, gt=0, lt=1, description="cosine similarity at which the judge accepts an answer (calibrated)"
    )
    judge: Literal["embedding", "llm"] = Field(
        "embedding", description="eval judge: embedding (offline MiniLM) or llm (an OpenAI-compatible model)"
    )
    judge_base_url: str | None = Field(None, description="endpoint of the LLM judge; unset: OPENAI_BASE_URL")
    judge_model: str | None = Field(None, description="model name of the LLM judge; unset: PROMPTED_MODEL")
    judge_api_key: SecretStr | None = Field(None, description="API key of the LLM judge; unset: OPENAI_API_KEY")
    trainer_hourly_rate_usd: float = Field(
        0.10, ge=0, description="hourly price of the training machine, for each version's cost"
    )
    price_table: Path | None = Field(None, description="YAML price table for API models (see README)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="log level")

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "openai_api_key",
        "judge_api_key",
        "finetuned_api_key",
        mode="before",
    )
    @classmethod
    def _not_blank(cls, value: object) -> object:
        # An empty signing secret would make Bolt verify requests with an empty key: anyone could
        # sign them. Blank is refused; unset the variable instead.
        if isinstance(value, str) and not value.strip():
            raise ValueError("is set but empty; set the real value or remove the variable")
        if isinstance(value, str) and value != value.strip():
            raise ValueError("has spaces or a line break around it; paste the value alone")
        return value

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str) -> str:
        import phonenumbers

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a country code phonenumbers knows (e.g. US, GB, DE)")
        return region

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @property
    def up_names(self) -> frozenset[str]:
        return _names(self.up_reactions)

    @property
    def down_names(self) -> frozenset[str]:
        return _names(self.down_reactions)

    @property
    def trusted_ids(self) -> frozenset[str]:
        return _names(self.trusted_users)

    @property
    def reviewer_ids(self) -> frozenset[str]:
        return _names(self.reviewers) or self.trusted_ids

    @property
    def admin_ids(self) -> frozenset[str]:
        return _names(self.admin_users)

    @property
    def adapter_store_uri(self) -> str:
        return self.adapter_store or str(self.data_dir / "adapters")

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def require_slack(self, socket_mode: bool) -> None:
        """Fail with one message naming every Slack variable the chosen mode still needs."""
        needed = {"SLACK_BOT_TOKEN": self.slack_bot_token}
        if socket_mode:
            needed["SLACK_APP_TOKEN"] = self.slack_app_token
        else:
            needed["SLACK_SIGNING_SECRET"] = self.slack_signing_secret
        missing = [name for name, value in needed.items() if value is None]
        if missing:
            mode = "Socket Mode" if socket_mode else "HTTP mode"
            raise ConfigError(
                f"{', '.join(missing)} not set: {mode} needs them. Copy them from your Slack app's "
                "settings page (see README, 'Create the Slack app')."
            )


def _names(value: str) -> frozenset[str]:
    return frozenset(name.strip().strip(":") for name in value.split(",") if name.strip().strip(":"))


def _env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, str):
        return info.validation_alias
    return field.upper()


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's errors into one :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            info = Settings.model_fields.get(field)
            hint = f" ({info.description})" if info is not None and info.description else ""
            lines.append(f"{_env_name(field)}: {error['msg']}{hint}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
