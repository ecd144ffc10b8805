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


def test_host_is_normalized_and_must_be_https():
    values, _sources = resolve({"host": HOST + "///"}, {}, "config file", {})
    assert values["host"] == HOST
    for bad in ("http://adb-123.azuredatabricks.net", "adb-123.azuredatabricks.net", "https://", "ftp://x"):
        with pytest.raises(ConfigError, match="must be the workspace URL starting with https://"):
            resolve({"host": bad}, {}, "config file", {})


@pytest.mark.parametrize("bad", ["https://x.net/$(id)", "https://x.net; rm -rf ~", "https://x .net", "https://x.net`id`"])
def test_host_with_shell_characters_is_refused(bad):
    with pytest.raises(ConfigError, match="characters a workspace URL cannot have"):
        resolve({"host": bad}, {}, "config file", {})


@pytest.mark.parametrize("profile", ["a b", "../x", "p;id", "p$x", ""])
def test_profile_must_be_simple(profile):
    if profile == "":
        values, _sources = resolve({"host": HOST, "profile": profile}, {}, "config file", {})
        assert values["profile"] == DEFAULTS["profile"]
        return
    with pytest.raises(ConfigError, match="profile from the command line may contain only"):
        resolve({"host": HOST, "profile": profile}, {}, "config file", {})


@pytest.mark.parametrize("ttl,expected", [("1", 1), (60, 60), (" 30 ", 30)])
def test_ttl_accepts_whole_minutes_in_range(ttl, expected):
    values, _sources = resolve({"host": HOST, "ttl": ttl}, {}, "config file", {})
    assert values["ttl"] == expected


@pytest.mark.parametrize("ttl", [0, 61, "abc", "1.5", True])
def test_ttl_out_of_range_or_not_a_number_is_refused(ttl):
    with pytest.raises(ConfigError, match="ttl from the command line"):
        resolve({"host": HOST, "ttl": ttl}, {}, "config file", {})


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


def test_config_values_are_validated_and_name_their_source():
    with pytest.raises(ConfigError, match="ttl from config URL https://x/c.json must be between 1 and 60"):
        validate_config_data({"ttl": 90}, "config URL https://x/c.json")


def test_invalid_earlier_values_are_ignored_not_fatal():
    values, sources = resolve({"host": HOST}, {}, "config file", {"profile": "bad profile", "ttl_minutes": 500})
    assert values["profile"] == DEFAULTS["profile"] and sources["profile"] == "default"
    assert values["ttl"] == DEFAULTS["ttl"]
