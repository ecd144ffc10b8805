"""Precedence and validation of the setup's values."""

from __future__ import annotations

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils._setup_config import (
    DEFAULTS,
    ConfigError,
    resolve,
    validate_config_data,
)

HOST = "https://adb-123.azuredatabricks.net"


def test_defaults_fill_what_nothing_else_gives():
    values, sources = resolve({"host": HOST}, {}, "config file", {})
    assert values == dict(DEFAULTS, host=HOST)
    assert sources["host"] == "command line"
    assert sources["profile"] == "default"


def test_command_line_beats_config_beats_earlier_install_beats_default():
    config = validate_config_data({"version": 1, "profile": "from-file", "ttl": 45, "sonnet": "file-sonnet"}, "f")
    previous = {"host": "https://earlier.cloud.databricks.com", "profile": "earlier", "ttl_minutes": 15,
                "haiku": "earlier-haiku", "sonnet": "earlier-sonnet"}
    values, sources = resolve({"profile": "cli", "host": None}, config, "config file f", previous)
    assert values["profile"] == "cli" and sources["profile"] == "command line"
    assert values["ttl"] == 45 and sources["ttl"] == "config file f"
    assert values["sonnet"] == "file-sonnet"
    assert values["haiku"] == "earlier-haiku" and sources["haiku"] == "earlier install"
    assert values["host"] == "https://earlier.cloud.databricks.com" and sources["host"] == "earlier install"
    assert values["opus"] == DEFAULTS["opus"] and sources["opus"] == "default"


def test_empty_command_line_values_count_as_not_given():
    values, sources = resolve({"host": HOST, "profile": "", "ttl": None}, {}, "config file", {"profile": "kept"})
    assert values["profile"] == "kept" and sources["profile"] == "earlier install"
    assert values["ttl"] == DEFAULTS["ttl"]


def test_host_is_normalized_without_a_note():
    notes = []
    values, _sources = resolve({"host": " HTTPS://ADB-123.azuredatabricks.net:443///"}, {}, "config file", {}, notes)
    assert values["host"] == HOST
    assert notes == []


@pytest.mark.parametrize("bad, words", [
    ("http://adb-123.azuredatabricks.net", "must start with https://"),
    ("adb-123.azuredatabricks.net", "must start with https://"),
    ("ftp://x", "must start with https://"),
    ("https://", "after https:// must come a host name"),
])
def test_host_must_be_https_and_the_error_names_the_source(bad, words):
    with pytest.raises(ConfigError) as caught:
        resolve({"host": bad}, {}, "config file", {})
    assert words in str(caught.value)
    assert str(caught.value).endswith("(from the command line)")


@pytest.mark.parametrize("bad", ["https://x.net/$(id)", "https://x.net; rm -rf ~", "https://x .net", "https://x.net`id`"])
def test_host_with_shell_characters_is_refused(bad):
    with pytest.raises(ConfigError, match="which no workspace URL has"):
        resolve({"host": bad}, {}, "config file", {})


def test_a_host_pasted_from_the_browser_is_reduced_with_a_note_naming_its_source():
    notes = []
    config = validate_config_data({"host": HOST + "/?o=123"}, "config file team.yml", notes)
    values, sources = resolve({}, config, "config file team.yml", {}, notes)

    assert (values["host"], sources["host"]) == (HOST, "config file team.yml")
    assert notes == ["host from config file team.yml: %s/?o=123 was reduced to the workspace URL %s: the part after "
                     "the host name (/?o=123) is not part of it." % (HOST, HOST)]

    notes = []
    resolve({"host": HOST + "/browse"}, {}, "config file", {}, notes)
    assert len(notes) == 1 and notes[0].startswith("host from the command line: %s/browse was reduced" % HOST)


def test_an_earlier_install_host_is_reduced_without_a_note():
    notes = []
    values, sources = resolve({}, {}, "config file", {"host": HOST + "/serving-endpoints/anthropic"}, notes)
    assert (values["host"], sources["host"], notes) == (HOST, "earlier install", [])


@pytest.mark.parametrize("profile", ["a b", "../x", "p;id", "p$x", ""])
def test_profile_must_be_simple(profile):
    if profile == "":
        values, _sources = resolve({"host": HOST, "profile": profile}, {}, "config file", {})
        assert values["profile"] == DEFAULTS["profile"]
        return
    with pytest.raises(ConfigError) as caught:
        resolve({"host": HOST, "profile": profile}, {}, "config file", {})
    assert "is not a valid profile name: use only letters, digits, '_' and '-'" in str(caught.value)
    assert str(caught.value).endswith("(from the command line)")


@pytest.mark.parametrize("ttl,expected", [("1", 1), (60, 60), (" 30 ", 30)])
def test_ttl_accepts_whole_minutes_in_range(ttl, expected):
    values, _sources = resolve({"host": HOST, "ttl": ttl}, {}, "config file", {})
    assert values["ttl"] == expected


@pytest.mark.parametrize("ttl, words", [
    (0, "ttl must be from 1 to 60 minutes, got 0 (from the command line)"),
    (61, "ttl must be from 1 to 60 minutes, got 61 (from the command line)"),
    ("abc", "ttl must be a whole number of minutes, got 'abc' (from the command line)"),
    ("1.5", "ttl must be a whole number of minutes, got '1.5' (from the command line)"),
    (True, "ttl must be a whole number of minutes, got True (from the command line)"),
])
def test_ttl_out_of_range_or_not_a_number_is_refused(ttl, words):
    with pytest.raises(ConfigError) as caught:
        resolve({"host": HOST, "ttl": ttl}, {}, "config file", {})
    assert str(caught.value) == words


def test_config_unknown_keys_are_rejected_with_the_valid_ones():
    with pytest.raises(ConfigError) as error:
        validate_config_data({"host": HOST, "hots": "typo", "modle": "x"}, "config file c.yml")
    message = str(error.value)
    assert "unknown key(s) hots, modle" in message
    assert "valid keys are version, host, profile, model, opus, sonnet, haiku, ttl, settings_location" in message


def test_config_version_must_be_one():
    with pytest.raises(ConfigError, match="version 2"):
        validate_config_data({"version": 2, "host": HOST}, "config file c.yml")
    assert validate_config_data({"version": "1", "host": HOST}, "c")["host"] == HOST


def test_config_must_be_an_object():
    with pytest.raises(ConfigError, match="must hold a JSON or YAML object"):
        validate_config_data(["host", HOST], "config file c.yml")
    assert validate_config_data(None, "empty file") == {}


@pytest.mark.parametrize("data, message", [
    ({"ttl": 90}, "ttl must be from 1 to 60 minutes, got 90 (from config URL https://x/c.json)"),
    ({"opus": "opus 4"}, "opus must be a serving endpoint name (letters, digits, '.', '-', '_'), got 'opus 4' "
                         "(from config URL https://x/c.json)"),
    ({"settings_location": "  "}, "settings_location from config URL https://x/c.json must be home, cwd or a path"),
])
def test_config_values_are_validated_and_name_their_source(data, message):
    with pytest.raises(ConfigError) as caught:
        validate_config_data(data, "config URL https://x/c.json")
    assert str(caught.value) == message


def test_model_names_are_trimmed_and_settings_location_kept():
    values = validate_config_data({"model": " my-endpoint ", "settings_location": " ~/work/repo "}, "f")
    assert values == {"model": "my-endpoint", "settings_location": "~/work/repo"}


def test_invalid_earlier_values_are_ignored_not_fatal():
    values, sources = resolve({"host": HOST}, {}, "config file", {"profile": "bad profile", "ttl_minutes": 500})
    assert values["profile"] == DEFAULTS["profile"] and sources["profile"] == "default"
    assert values["ttl"] == DEFAULTS["ttl"]


def test_the_agents_and_their_models_of_an_earlier_install_are_kept():
    previous = {"agents": ["claude_code", "gemini"], "codex_model": None, "gemini_model": "databricks-gemini-3-5-flash",
                "gateway": "ai-gateway"}
    values, sources = resolve({"host": HOST}, {}, "config file", previous)
    assert values["agents"] == ["claude_code", "gemini"] and sources["agents"] == "earlier install"
    assert values["gemini_model"] == "databricks-gemini-3-5-flash"
    assert values["codex_model"] == DEFAULTS["codex_model"] and sources["codex_model"] == "default"
    assert values["endpoint_style"] == "ai-gateway" and sources["endpoint_style"] == "earlier install"


def test_agents_on_the_command_line_beat_the_earlier_ones_and_keep_the_collections_order():
    values, _sources = resolve({"host": HOST, "agents": "gemini,codex"}, {}, "config file", {"agents": ["claude_code"]})
    assert values["agents"] == ["codex", "gemini"]


@pytest.mark.parametrize("data, expected", [
    ({"agents": ["claude_code", "cursor"]}, "Unknown agent 'cursor' in agents: choose from claude_code, codex, gemini"),
    ({"agents": []}, "agents must be a non-empty list"),
    ({"endpoint_style": "gateway"}, "endpoint_style must be one of serving-endpoints, ai-gateway, auto"),
    ({"codex_model": "gpt 5"}, "codex_model"),
])
def test_bad_agent_values_in_a_config_file_name_the_fix(data, expected):
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        validate_config_data(dict(data, version=1), "config file f")


def test_an_empty_earlier_agent_list_is_ignored():
    values, sources = resolve({"host": HOST}, {}, "config file", {"agents": []})
    assert values["agents"] == ["claude_code"] and sources["agents"] == "default"
