"""manifest.yml is valid for Slack and declares exactly what the code handles."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from bot.listeners.commands import COMMANDS
from bot.listeners.events import EVENTS
from tests.support.paths import PROJECT, SLACK_SPECS

SCHEMAS = SLACK_SPECS / "manifest-schema"
REMOTE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"


def load_json(path: Path) -> dict:
    data = json.loads(path.read_text())
    data.pop("$schema", None)
    return data


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    """Slack's entry schema, with its remote $refs pointed at the local copies."""
    registry = Registry().with_resources(
        (REMOTE + path.name, Resource.from_contents(load_json(path), default_specification=DRAFT7))
        for path in (SCHEMAS / "schemas").glob("manifest.schema.*.json")
    )
    return jsonschema.Draft7Validator(load_json(SCHEMAS / "manifest.schema.json"), registry=registry)


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((PROJECT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_schema(validator, manifest):
    errors = sorted(validator.iter_errors(manifest), key=str)
    assert errors == []


def test_the_validator_rejects_slacks_own_invalid_example(validator):
    for version in ("v1", "v2"):
        invalid = load_json(SCHEMAS / "examples" / version / "manifest.invalid.json")
        assert list(validator.iter_errors(invalid)), version
        valid = load_json(SCHEMAS / "examples" / version / "manifest.valid.json")
        assert list(validator.iter_errors(valid)) == [], version


def test_manifest_declares_exactly_the_commands_the_code_handles(manifest):
    declared = {command["command"] for command in manifest["features"]["slash_commands"]}
    assert declared == set(COMMANDS)


def test_manifest_subscribes_to_exactly_the_events_the_code_handles(manifest):
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == set(EVENTS)


# Web API methods' scopes (https://api.slack.com/methods); the test fails on any call not listed.
METHOD_SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_update": "chat:write",
    "views_open": None,  # needs only a trigger_id
    "usergroups_users_list": "usergroups:read",
    "files_upload_v2": "files:write",  # files.getUploadURLExternal + files.completeUploadExternal
}


def web_api_calls() -> set[str]:
    calls = set()
    for path in (PROJECT / "bot").rglob("*.py"):
        calls |= set(re.findall(r"client\.(\w+)\(", path.read_text()))
    return calls


# The frozen 2021 events spec lists no scope for app_mention; Slack now requires app_mentions:read.
NEWER_EVENT_SCOPES = {"app_mention": {"app_mentions:read"}}


def event_scopes() -> set[str]:
    topics = json.loads((SLACK_SPECS / "events-api" / "slack_events_api_async_v1.json").read_text())["topics"]
    scopes = set()
    for event in EVENTS:
        scopes |= set(topics[event.replace("_", ".")]["subscribe"]["x-scopes-required"])
        scopes |= NEWER_EVENT_SCOPES.get(event, set())
    return scopes


def test_manifest_asks_for_exactly_the_scopes_used(manifest):
    calls = web_api_calls()
    assert calls == set(METHOD_SCOPES), "a new Web API call needs its scope in METHOD_SCOPES"
    used = {METHOD_SCOPES[call] for call in calls if METHOD_SCOPES[call]} | event_scopes() | {"commands"}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == used
    assert manifest["settings"]["interactivity"]["is_enabled"] is True  # the vote buttons
