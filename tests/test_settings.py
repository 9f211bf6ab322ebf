import pytest

from supportbot.errors import ConfigError
from supportbot.settings import load_settings


def test_defaults_need_no_configuration(tmp_path):
    settings = load_settings()
    assert settings.presentation == "labelled"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.openai_base_url is None
    assert settings.data_dir == tmp_path / "data"


def test_malformed_values_name_the_variable_and_what_to_set(monkeypatch):
    monkeypatch.setenv("PRESENTATION", "sideways")
    monkeypatch.setenv("MAX_NEW_TOKENS", "lots")
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert "PRESENTATION: Input should be 'labelled' or 'blind'" in message
    assert "MAX_NEW_TOKENS" in message and "longest answer in tokens" in message


def test_bad_redis_url_is_rejected(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "localhost:6379")
    with pytest.raises(ConfigError, match="REDIS_URL: Value error, must start with redis://"):
        load_settings()


def test_slack_api_url_gets_a_trailing_slash(monkeypatch):
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    assert load_settings().slack_api_url == "http://127.0.0.1:9999/api/"


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("PRESENTATION=blind\n")
    assert load_settings().presentation == "blind"


@pytest.mark.parametrize(
    ("socket_mode", "missing"),
    [(True, "SLACK_BOT_TOKEN, SLACK_APP_TOKEN"), (False, "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET")],
)
def test_require_slack_names_every_missing_variable(socket_mode, missing):
    with pytest.raises(ConfigError, match=missing):
        load_settings().require_slack(socket_mode=socket_mode)


def test_secrets_never_appear_in_repr(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    settings = load_settings()
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.model_dump())


def test_readme_lists_every_variable():
    from tests.conftest import SETTINGS_ENV
    from tests.support.paths import PROJECT

    readme = (PROJECT / "README.md").read_text()
    missing = [name for name in SETTINGS_ENV if f"| `{name}` |" not in readme]
    assert missing == []


def test_redact_prompts_reaches_the_prompted_responder(monkeypatch):
    from supportbot.prompts import PromptSet
    from supportbot.services import build_prompted

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert build_prompted(load_settings(), PromptSet.load(None), 8).redact is None
    monkeypatch.setenv("REDACT_PROMPTS", "true")
    monkeypatch.setenv("PHONE_REGION", "gb")
    responder = build_prompted(load_settings(), PromptSet.load(None), 8)
    assert responder.redact is not None
    assert responder.redact("call 020 7946 0958 or mail a@b.co") == "call [PHONE] or mail [EMAIL]"
