# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/_claude_settings.py."""

from __future__ import annotations

import json

import re

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs

PATH = "/home/dev/.claude/settings.json"


# ---------------------------------------------------------------- parsing

def test_missing_and_empty_files_are_empty_objects():
    assert cs.parse_settings(None, PATH).data == {}
    assert cs.parse_settings(b"", PATH).data == {}
    assert cs.parse_settings(b"  \n\t\n", PATH).data == {}


def test_parse_keeps_key_order_and_nesting():
    parsed = cs.parse_settings(b'{"z": 1, "a": {"y": [1, 2], "b": null}, "m": "x"}', PATH)
    assert list(parsed.data) == ["z", "a", "m"]
    assert list(parsed.data["a"]) == ["y", "b"]


def test_duplicate_keys_take_the_last_value():
    assert cs.parse_settings(b'{"a": 1, "a": 2}', PATH).data == {"a": 2}


def test_bom_is_recognised_and_remembered():
    parsed = cs.parse_settings(cs.UTF8_BOM + b'{\n    "a": 1\n}\n', PATH)
    assert parsed.data == {"a": 1}
    assert parsed.bom is True
    assert parsed.indent == 4
    assert cs.parse_settings(b'{"a": 1}', PATH).bom is False


def test_syntax_error_names_file_line_and_column():
    with pytest.raises(cs.SettingsError) as info:
        cs.parse_settings(b'{\n  "a": 1\n  "b": 2\n}\n', PATH)
    assert info.value.kind == "unreadable"
    assert info.value.message.startswith(PATH + " is not valid JSON: Expecting ',' delimiter")
    assert "line 3, column 3" in info.value.message


def test_trailing_comma_is_an_error():
    # Python 3.13 places this error at the comma (column 8), older ones at the brace (column 10).
    with pytest.raises(cs.SettingsError, match="trailing comma|Expecting property name") as info:
        cs.parse_settings(b'{"a": 1, }', PATH)
    assert re.search(r"line 1, column (8|10)$", info.value.message)


def test_nan_is_not_json():
    with pytest.raises(cs.SettingsError, match="does not allow the value NaN"):
        cs.parse_settings(b'{"a": NaN}', PATH)


def test_invalid_utf8_is_reported_with_its_position():
    with pytest.raises(cs.SettingsError) as info:
        cs.parse_settings(b'{\n  "a": "\xff"\n}', PATH)
    assert info.value.kind == "unreadable"
    assert "not valid UTF-8" in info.value.message
    assert "byte 0xff at line 2, column 9" in info.value.message


@pytest.mark.parametrize("text, kind", [
    (b"[]", "array"), (b'"x"', "string"), (b"3", "number"), (b"null", "null"), (b"true", "boolean"),
])
def test_root_must_be_an_object(text, kind):
    with pytest.raises(cs.SettingsError) as info:
        cs.parse_settings(text, PATH)
    assert info.value.kind == "not_object"
    assert "holds a JSON %s at the top level" % kind in info.value.message
    assert PATH in info.value.message


# ---------------------------------------------------------- indentation

@pytest.mark.parametrize("text, indent", [
    ('{\n  "a": 1\n}', 2),
    ('{\n    "a": {\n        "b": 1\n    }\n}', 4),
    ('{\n\t"a": {\n\t\t"b": 1\n\t}\n}', "\t"),
    ('{\n   "a": 1\n}', 3),
    ('{"a": 1}', 2),
    ("", 2),
    ('{\n\n    "a": 1\n}', 4),
])
def test_detect_indent(text, indent):
    assert cs.detect_indent(text) == indent


@pytest.mark.parametrize("indent", [2, 4, "\t", 3])
def test_render_round_trips_its_own_style(indent):
    data = {"a": {"b": [1, "é", None, {}], "c": []}, "d": 1.5}
    rendered = cs.render_settings(data, indent)
    assert rendered.endswith(b"}\n")
    parsed = cs.parse_settings(rendered, PATH)
    assert parsed.data == data
    assert parsed.indent == indent
    assert cs.render_settings(parsed.data, parsed.indent) == rendered


def test_render_keeps_non_ascii_and_bom():
    rendered = cs.render_settings({"name": "Zoë ✓"}, 2, bom=True)
    assert rendered == cs.UTF8_BOM + '{\n  "name": "Zoë ✓"\n}\n'.encode("utf-8")


def test_render_escapes_lone_surrogates_instead_of_failing():
    data = cs.parse_settings(b'{"a": "\\ud800"}', PATH).data
    assert cs.render_settings(data) == b'{\n  "a": "\\ud800"\n}\n'


def test_render_empty_object():
    assert cs.render_settings({}) == b"{}\n"


# ------------------------------------------------------ base URL

def test_base_url_and_split_base_url():
    host = "https://x.cloud.databricks.com"
    assert cs.base_url(host) == host + "/serving-endpoints/anthropic"
    assert cs.base_url(host, "ai-gateway") == host + "/ai-gateway/anthropic"
    assert cs.split_base_url(host + "/serving-endpoints/anthropic") == (host, "serving-endpoints")
    assert cs.split_base_url(host + "/ai-gateway/anthropic/") == (host, "ai-gateway")
    assert cs.split_base_url("https://api.anthropic.com") == (None, None)
    assert cs.split_base_url("/serving-endpoints/anthropic") == (None, None)
    assert cs.split_base_url(42) == (None, None)
    assert cs.split_base_url(None) == (None, None)


# --------------------------------------------------------- values, TTL

def test_validate_single_line():
    assert cs.validate_single_line("model", "  databricks-claude-opus-4-6 ") == "databricks-claude-opus-4-6"
    for bad in ("", "  ", None, "a\nb", "a\rb", "a\x00b", "a\tb"):
        with pytest.raises(ValueError, match="model"):
            cs.validate_single_line("model", bad)


@pytest.mark.parametrize("minutes, ms", [(1, "60000"), (30, "1800000"), (60, "3600000"), (5, "300000")])
def test_ttl_ms(minutes, ms):
    assert cs.ttl_ms(minutes) == ms
    assert cs.ttl_minutes_from_ms(ms) == minutes
    assert cs.ttl_minutes_from_ms(int(ms)) == minutes


@pytest.mark.parametrize("minutes", [0, 61, -5, True, "30", 1.5])
def test_ttl_ms_rejects(minutes):
    with pytest.raises(ValueError, match="ttl_minutes must be a whole number from 1 to 60"):
        cs.ttl_ms(minutes)


@pytest.mark.parametrize("value", ["90000", "0", "3660000", "abc", "", None, True, 1.5, [], "-60000"])
def test_ttl_minutes_from_ms_rejects_what_setup_could_not_use(value):
    assert cs.ttl_minutes_from_ms(value) is None


def test_desired_env_is_all_strings_in_owned_order():
    env = cs.desired_env("https://h", "ai-gateway", "m", "o", "s", "h", 10)
    assert list(env) == list(cs.OWNED_ENV_KEYS)
    assert all(isinstance(value, str) for value in env.values())
    assert env == {
        "ANTHROPIC_BASE_URL": "https://h/ai-gateway/anthropic",
        "ANTHROPIC_MODEL": "m",
        "ANTHROPIC_DEFAULT_OPUS_MODEL": "o",
        "ANTHROPIC_DEFAULT_SONNET_MODEL": "s",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "h",
        "ANTHROPIC_CUSTOM_HEADERS": "x-databricks-use-coding-agent-mode: true",
        "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1",
        "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "600000",
    }


# ----------------------------------------------------- helper command

@pytest.mark.parametrize("command, expected", [
    ("/home/dev/.claude/fmapi-key-helper.sh", "/home/dev/.claude/fmapi-key-helper.sh"),
    ("sh /opt/helper.sh", "/opt/helper.sh"),
    ("/bin/bash -e '/opt/my helper.sh'", "/opt/my helper.sh"),
    ("FOO=1 /opt/helper.sh --quiet", "/opt/helper.sh"),
    ("/usr/bin/env bash", "bash"),
    ("'/home/dev/.claude/fmapi token helper'", "/home/dev/.claude/fmapi token helper"),
    ("/usr/bin/python3.11 /opt/helper.py", "/opt/helper.py"),
    ("/usr/local/bin/node /opt/helper.js", "/usr/local/bin/node"),
    ("sh", None),
    ("", None),
    ("   ", None),
    (None, None),
    (42, None),
    ("'unterminated", None),
])
def test_helper_path_from_command(command, expected):
    assert cs.helper_path_from_command(command) == expected


def test_helper_path_from_command_expands_home(monkeypatch):
    monkeypatch.setenv("HOME", "/home/dev")
    assert cs.helper_path_from_command("~/.claude/helper.sh") == "/home/dev/.claude/helper.sh"
    assert cs.helper_path_from_command("$HOME/.claude/helper.sh") == "/home/dev/.claude/helper.sh"


# ------------------------------------------------------------ secrets

def test_secret_values_of_env():
    data = {"env": {
        "ANTHROPIC_AUTH_TOKEN": "dapi-secret-1234",
        "GITHUB_TOKEN": "ghp_abcdefgh",
        "MY_API_KEY": "k" * 10,
        "SHORT_TOKEN": "1",
        "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "1800000",
        "EDITOR": "vim-is-nice",
        "NUMBER_TOKEN": 123456789,
    }}
    assert sorted(cs.secret_values(data)) == sorted(["dapi-secret-1234", "ghp_abcdefgh", "k" * 10])
    assert cs.secret_values({"env": "x"}) == []
    assert cs.secret_values([]) == []


def test_secret_values_in_text_work_on_broken_json():
    text = ('{"apiKeyHelper": "/home/dev/helper.sh", "env": {"ANTHROPIC_AUTH_TOKEN": "dapi-abc\\/def-123", '
            '"CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "1800000", "EDITOR": "vim-editor"')
    values = cs.secret_values_in_text(text)
    assert "/home/dev/helper.sh" not in values and "1800000" not in values
    assert "dapi-abc\\/def-123" in values
    assert "dapi-abc/def-123" in values
    assert "vim-editor" not in values


def test_token_shaped_values_are_found_anywhere():
    pat = "dapi" + "0123456789abcdef" * 2
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    text = '{"apiKeyHelper": "echo %s-2", "other": "Bearer %s", "name": "dapinot"}' % (pat, jwt)
    values = cs.secret_values_in_text(text)
    assert pat + "-2" in values and jwt in values
    assert not any("dapinot" in value for value in values)


# ------------------------------------------------------------- sidecar

def test_state_file_path_is_a_hidden_sibling():
    assert cs.state_file_path(PATH) == "/home/dev/.claude/.settings.json.fmapi-state.json"
    assert cs.state_file_path("/p/.claude/settings.local.json") == "/p/.claude/.settings.local.json.fmapi-state.json"


def test_state_round_trip_and_garbage():
    record = {"web_search_deny": {"added": True, "created_deny": False, "created_permissions": True}}
    raw = cs.render_state(record)
    assert raw.endswith(b"\n")
    assert cs.parse_state(raw) == dict(record, version=1)
    assert json.loads(raw)["version"] == 1
    for garbage in (None, b"", b"{", b"[]", b"\xff"):
        assert cs.parse_state(garbage) is None
