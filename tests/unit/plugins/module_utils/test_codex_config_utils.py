# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of _codex_config: the rules of Codex's config.toml and the format-preserving edit.

What a user would notice: their file comes back byte for byte after present then absent, whatever its layout;
Codex would read the keys where we put them (never inside someone else's table); a second run changes nothing.
"""

from __future__ import annotations

import json

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _codex_config as cc

try:
    import tomllib  # Python 3.11+: a strict reader, like Codex's own
except ImportError:  # pragma: no cover
    tomllib = None


def loads(text):
    """The data Codex would read from ``text``."""
    return tomllib.loads(text) if tomllib is not None else tomlkit.parse(text).unwrap()


HOST = "https://example.cloud.databricks.com"
HELPER = "/home/dev/.local/share/fmapi-coding-agents/fmapi-token-helper"
BASE_URL = HOST + "/serving-endpoints/codex/v1"
DESIRED = cc.Desired("databricks-gpt-5-5", BASE_URL, HELPER)
OUR_PROVIDER = {"name": "Databricks", "base_url": BASE_URL, "wire_api": "responses",
                "auth": {"command": HELPER, "args": [], "timeout_ms": 150000, "refresh_interval_ms": 300000}}

# What a Codex user's config.toml looks like: comments, their own model, other providers, a profile, inline tables,
# a multi-line array, MCP servers, trusted projects.
USER_FILE = '''# ~/.codex/config.toml -- my settings
model = 'gpt-5-codex'   # the one I like
approval_policy = "on-request"
notify = [
  "notify-send",
  # a comment inside an array
  "Codex",
]

[tui]
notifications = true

# Local models for the plane
[model_providers.llama-server]
name = "Ollama"
base_url = "http://localhost:11434/v1"
http_headers = { "X-Team" = "me" }

[profiles.fast]
model = "o4-mini"
model_provider = "llama-server"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]
env = { DOCS_TOKEN = "not-a-real-secret-value" }

[projects."/home/dev/src/app"]
trust_level = "trusted"
'''


def present(text, record=None, desired=DESIRED, path="config.toml"):
    parsed = cc.parse_config(text.encode("utf-8"), path)
    return cc.edit_present(parsed, desired, record, bool(text), path)


def absent(text, record):
    return cc.edit_absent(cc.parse_config(text.encode("utf-8"), "config.toml"), record, "config.toml")


def stored(record):
    """The record as the sidecar gives it back."""
    return cc.parse_state(cc.render_state(record))


def round_trip(text):
    """present, present again, absent: the texts after each step."""
    first = present(text)
    second = present(first.text, stored(first.record))
    back = absent(second.text, stored(second.record))
    return first, second, back


# ---------------------------------------------------------------------------------------- locations

def test_config_path_honours_codex_home_else_the_home_folder():
    assert cc.config_file_path({"HOME": "/home/dev"}) == "/home/dev/.codex/config.toml"
    assert cc.config_file_path({"HOME": "/home/dev", "CODEX_HOME": "/srv/codex"}) == "/srv/codex/config.toml"
    assert cc.config_file_path({"HOME": "/home/dev", "CODEX_HOME": ""}) == "/home/dev/.codex/config.toml"
    assert cc.profile_file_path("/home/dev/.codex/config.toml", "fmapi") == "/home/dev/.codex/fmapi.config.toml"


def test_the_sidecar_sits_beside_the_config_and_round_trips():
    assert cc.state_file_path("/home/dev/.codex/config.toml") == "/home/dev/.codex/.config.toml.fmapi-state.json"
    record = {"file_existed": True, "keys": {"model": {"before": "'gpt-5'", "after": "m"}}}
    assert cc.parse_state(cc.render_state(record)) == record
    assert cc.parse_state(b"not json") is None
    assert cc.parse_state(b'{"version": 1}') is None


# ------------------------------------------------------------------------------------------- values

@pytest.mark.parametrize("host, style, expected", [
    (HOST, "serving-endpoints", HOST + "/serving-endpoints/codex/v1"),
    (HOST + "/browse?o=1", "ai-gateway", HOST + "/ai-gateway/codex/v1"),
])
def test_base_url_for_a_workspace_and_style(host, style, expected):
    assert cc.base_url_for(host, style) == expected
    assert cc.split_base_url(expected) == (HOST, style)


@pytest.mark.parametrize("bad, words", [
    ("http://example.com/v1", "https://"),
    ("https://user:pw@example.com/v1", "user name or password"),
    ("https://example.com/v1?x=1", "without a query"),
    ("https://example.com/a b", "base_url"),
    ("", "empty"),
])
def test_base_url_is_refused_unless_a_clean_https_url(bad, words):
    with pytest.raises(cc.ConfigError) as error:
        cc.validate_base_url(bad)
    assert words in error.value.message
    assert "pw" not in error.value.message


def test_base_url_keeps_its_path_without_a_trailing_slash():
    assert cc.validate_base_url(" https://GW.example.com:443/openai/v1/ ") == "https://gw.example.com/openai/v1"
    assert cc.split_base_url("https://gw.example.com/openai/v1") == (None, None)


@pytest.mark.parametrize("command, words", [
    ("fmapi-token-helper", "absolute path"),
    ("/bin/echo dapi0123456789abcdef0123", "token"),
    ("/a\n/b", "single line"),
])
def test_auth_command_must_be_an_absolute_single_path(command, words):
    with pytest.raises(cc.ConfigError) as error:
        cc.validate_command(command)
    assert words in error.value.message


@pytest.mark.parametrize("headers, words", [
    ({"Authorization": "Bearer x"}, "Authorization"),
    ({"X-Ok": "dapi0123456789abcdef0123"}, "token"),
    ({"bad name": "x"}, "not a header name"),
    ({"X-A": "a\nb"}, "single line"),
])
def test_http_headers_refuse_credentials_and_broken_names(headers, words):
    with pytest.raises(cc.ConfigError) as error:
        cc.validate_http_headers(headers)
    assert words in error.value.message


def test_milliseconds_are_bounded():
    assert cc.validate_milliseconds("refresh_interval_ms", 0, 0, 10) == 0
    for bad in (-1, 11, True, "5"):
        with pytest.raises(cc.ConfigError):
            cc.validate_milliseconds("refresh_interval_ms", bad, 0, 10)


def test_the_default_refresh_is_shorter_than_any_token_the_helper_prints_lives():
    # The helper prints tokens that live at least its TTL (1 minute at the least) plus five minutes.
    assert cc.DEFAULT_REFRESH_INTERVAL_MS < (1 + 5) * 60000
    # And Codex waits long enough for the helper's browser login (120 s by default).
    assert cc.DEFAULT_AUTH_TIMEOUT_MS > 120000


# ------------------------------------------------------------------------------------------ reading

def test_invalid_toml_names_the_file_line_and_column():
    with pytest.raises(cc.ConfigError) as error:
        cc.parse_config(b'model = "x"\n[model_providers.databricks\n', "/home/dev/.codex/config.toml")
    assert error.value.kind == "unreadable"
    assert error.value.message.startswith("/home/dev/.codex/config.toml is not valid TOML: ")
    assert "line 2, column" in error.value.message


def test_duplicate_keys_are_invalid_as_codex_says():
    with pytest.raises(cc.ConfigError) as error:
        cc.parse_config(b'model = "a"\nmodel = "b"\n', "c.toml")
    assert "line 2" in error.value.message


def test_not_utf8_names_the_byte():
    with pytest.raises(cc.ConfigError) as error:
        cc.parse_config(b'model = "a"\nname = "\xff"\n', "c.toml")
    assert "not UTF-8" in error.value.message and "0xff at line 2, column 9" in error.value.message


def test_missing_and_empty_files_are_empty_configurations():
    assert cc.parse_config(None, "c.toml").data == {}
    assert cc.parse_config(b"", "c.toml").data == {}


def test_table_headers_skip_brackets_inside_arrays_and_strings():
    text = 'a = [\n[1, 2],\n]\ns = """\n[not.a.header]\n"""\n[t]\nx = 1\n[[servers]]\n[model_providers."my.id"]\n'
    headers = cc.table_headers(text)
    assert [(header.path, header.array) for header in headers] == [
        (("t",), False), (("servers",), True), (("model_providers", "my.id"), False)]
    assert text[headers[0].offset:].startswith("[t]")


def test_describe_reads_what_a_setup_wrote_and_what_is_in_the_way():
    text = present(USER_FILE).text.replace('wire_api = "responses"', 'wire_api = "responses"\nenv_key = "X"')
    info = cc.describe(cc.parse_config(('profile = "fmapi"\n' + text).encode(), "c.toml").data)
    assert info["provider_selected"] and info["provider_present"]
    assert (info["host"], info["endpoint_style"], info["model"]) == (HOST, "serving-endpoints", "databricks-gpt-5-5")
    assert info["auth_command"] == HELPER and info["auth_timeout_ms"] == 150000
    assert info["conflicting_keys"] == ["env_key"]
    assert info["legacy_profile"] == "fmapi" and info["profiles"] == ["fast"]


def test_legacy_profile_notes_name_the_profile_file_to_move_to():
    data = loads('profile = "fmapi"\n[profiles.fmapi]\nmodel = "x"\n')
    notes = cc.legacy_profile_notes("/home/dev/.codex/config.toml", data)
    assert len(notes) == 2
    assert "refuse to start" in notes[0] and "/home/dev/.codex/fmapi.config.toml" in notes[0]
    assert "codex --profile fmapi" in notes[1]


def test_secret_values_find_tokens_and_secret_named_keys_only():
    data = loads('model = "databricks-gpt-5-5"\n[mcp_servers.x]\nenv = { API_KEY = "sk-abcdef123" }\n'
                 '[model_providers.y]\nexperimental_bearer_token = "abcdef-secret"\n'
                 'http_headers = { X = "Bearer abcdefgh" }\n')
    assert sorted(cc.secret_values(data)) == ["Bearer abcdefgh", "abcdef-secret", "sk-abcdef123"]


# ------------------------------------------------------------------------------------------ editing

def test_present_adds_ours_and_leaves_every_line_of_the_user_as_it_was():
    result = present(USER_FILE)
    text = result.text
    data = loads(text)
    assert data["model"] == "databricks-gpt-5-5" and data["model_provider"] == "databricks"
    assert data["model_providers"]["databricks"] == OUR_PROVIDER
    # Everything else as it was.
    original = loads(USER_FILE)
    for key in ("approval_policy", "notify", "tui", "profiles", "mcp_servers", "projects"):
        assert data[key] == original[key]
    assert data["model_providers"]["llama-server"] == original["model_providers"]["llama-server"]
    # Only our lines were added or changed: the user's model line keeps its comment.
    added = [line for line in text.splitlines() if line not in USER_FILE.splitlines()]
    assert added[0] == 'model = "databricks-gpt-5-5"   # the one I like'
    assert 'model_provider = "databricks"' in added
    # model_provider, the two tables (4 + 5 lines and a blank line between), a blank line before [profiles.fast].
    assert len(text.splitlines()) == len(USER_FILE.splitlines()) + 1 + 10 + 1
    # Top-level keys before the first table, ours after the other providers.
    assert text.index('model_provider = "databricks"') < text.index("[tui]")
    assert text.index("[model_providers.llama-server]") < text.index("[model_providers.databricks]") < \
        text.index("[profiles.fast]")
    assert result.record["keys"]["model"]["before"] == "'gpt-5-codex'"
    assert "before" not in result.record["keys"]["model_provider"]


def test_present_then_absent_gives_the_users_file_back_byte_for_byte():
    first, second, back = round_trip(USER_FILE)
    assert second.text == first.text and second.set_keys == [] and second.removed_keys == []
    assert back.text == USER_FILE
    assert back.restored_keys == ["model"]
    assert sorted(back.removed_keys) == ["model_provider", "model_providers.databricks"]


@pytest.mark.parametrize("text", [
    "",
    "# only a comment\n",
    "# header\n\n[tui]\nx = 1\n",
    "[tui]\nx = 1\n",
    'approval_policy = "never"',
    'a = 1\n[tui]\nx = 1',
    'a = 1\n# about tui\n[tui]\nx = 1\n\n\n',
    'a = 1\r\n\r\n[model_providers.o]\r\nname = "O"\r\n',
    'model = "o3"\nmodel_provider = "openai"\n',
    'model_provider = "llama-server"\n\n[model_providers.llama-server]\nname = "O"\n\n[tui]\nx = 1\n',
    'model_providers.o.name = "dotted"\nmodel = "o3"\n',
    'notify = [\n  "a",\n  # c\n]\n# tui\n[tui]\nx = """\n[not]\n"""\n',
    '[model_providers]\n\n[model_providers.o]\nname = "O"\n',
], ids=["empty", "comment", "comment-table", "table-first", "no-final-newline", "glued-table",
        "comments-and-blanks", "crlf", "own-model", "other-provider", "dotted", "multi-line-values",
        "explicit-super-table"])
def test_any_layout_comes_back_byte_for_byte(text):
    first, second, back = round_trip(text)
    assert second.text == first.text
    data = loads(first.text)
    assert data["model_provider"] == "databricks" and data["model_providers"]["databricks"] == OUR_PROVIDER
    if text:
        assert back.text == text
    else:
        assert back.text is None, "a file that held only ours is deleted"


def test_crlf_files_get_crlf_lines():
    text = present('a = 1\r\n\r\n[tui]\r\nx = 1\r\n').text
    assert "\n" not in text.replace("\r\n", "")


def test_a_changed_model_changes_one_line_and_absent_still_restores_the_users():
    first = present(USER_FILE)
    changed = present(first.text, stored(first.record), DESIRED._replace(model="databricks-gpt-5-2"))
    differences = [(old, new) for old, new in zip(first.text.splitlines(), changed.text.splitlines()) if old != new]
    assert differences == [('model = "databricks-gpt-5-5"   # the one I like',
                            'model = "databricks-gpt-5-2"   # the one I like')]
    assert changed.set_keys == ["model"]
    assert absent(changed.text, stored(changed.record)).text == USER_FILE


def test_a_value_the_user_changed_after_the_setup_is_theirs():
    first = present(USER_FILE)
    edited = first.text.replace('model = "databricks-gpt-5-5"', 'model = "o3"')
    back = absent(edited, stored(first.record))
    assert loads(back.text)["model"] == "o3"
    assert any("changed after the setup" in note for note in back.notes)
    assert "model_provider" not in loads(back.text)


def test_a_new_model_the_user_set_is_remembered_as_theirs_by_the_next_run():
    first = present(USER_FILE)
    edited = first.text.replace('model = "databricks-gpt-5-5"', 'model = "o3"')
    again = present(edited, stored(first.record))
    assert again.record["keys"]["model"]["before"] == '"o3"'
    assert loads(absent(again.text, stored(again.record)).text)["model"] == "o3"


def test_tables_codex_appended_after_ours_survive_absent():
    first = present(USER_FILE)
    later = first.text + '\n# added by Codex\n[projects."/tmp/x"]\ntrust_level = "trusted"\n'
    back = absent(later, stored(first.record))
    assert back.text == USER_FILE + '\n# added by Codex\n[projects."/tmp/x"]\ntrust_level = "trusted"\n'


def test_without_a_sidecar_absent_removes_what_is_ours_by_its_id():
    text = present("a = 1\n").text
    back = absent(text, None)
    assert loads(back.text) == {"a": 1}


def test_without_a_sidecar_a_model_for_another_provider_stays():
    back = absent('model = "o3"\nmodel_provider = "openai"\n', None)
    assert back.text == 'model = "o3"\nmodel_provider = "openai"\n'
    assert back.removed_keys == []


def test_an_existing_file_left_empty_is_kept_a_new_one_is_deleted():
    for original in ("", "\n"):
        record = stored(present(original).record)
        assert record["file_existed"] is bool(original)
    written = present("")
    assert absent(written.text, stored(written.record)).text is None
    kept = present("\n")
    assert absent(kept.text, stored(kept.record)).text == "\n"


USERS_OWN_PROVIDER = '''model = "databricks-claude"
model_provider = "databricks"

[model_providers.databricks]
name = "My Databricks"
base_url = "https://old.example.com/serving-endpoints/openai/v1"  # opskit wrote this
env_key = "DATABRICKS_TOKEN"
requires_openai_auth = false
stream_idle_timeout_ms = 600000

[tui]
x = 1
'''


def test_a_provider_table_of_the_users_is_taken_over_and_given_back():
    first, second, back = round_trip(USERS_OWN_PROVIDER)
    provider = loads(first.text)["model_providers"]["databricks"]
    assert provider == dict(OUR_PROVIDER, stream_idle_timeout_ms=600000)
    assert sorted(first.removed_keys) == ["model_providers.databricks.env_key",
                                          "model_providers.databricks.requires_openai_auth"]
    assert '# opskit wrote this' in first.text
    assert back.text == USERS_OWN_PROVIDER
    assert set(back.restored_keys) >= {"model", "model_providers.databricks.env_key",
                                       "model_providers.databricks.base_url"}


def test_a_plain_text_token_is_removed_and_never_recorded_nor_put_back():
    text = '[model_providers.databricks]\nname = "D"\nexperimental_bearer_token = "dapi0123456789abcdef0123"\n'
    first = present(text)
    assert "experimental_bearer_token" not in first.text
    assert "dapi0123456789abcdef0123" not in json.dumps(first.record)
    assert any("token in plain text" in note for note in first.notes)
    back = absent(first.text, stored(first.record))
    assert "experimental_bearer_token" not in back.text
    assert loads(back.text)["model_providers"]["databricks"] == {"name": "D"}


def test_an_auth_table_is_added_to_the_users_provider_and_removed_again():
    text = '[model_providers.databricks]\nname = "D"\nbase_url = "%s"\nwire_api = "responses"\n\n[tui]\nx = 1\n' % BASE_URL
    first, _second, back = round_trip(text)
    assert first.text.index("[model_providers.databricks.auth]") < first.text.index("[tui]")
    assert back.text == text


def test_http_headers_are_set_changed_and_removed():
    with_headers = present(USER_FILE, desired=DESIRED._replace(http_headers={"X-Team": "platform"}))
    data = loads(with_headers.text)
    assert data["model_providers"]["databricks"]["http_headers"] == {"X-Team": "platform"}
    assert 'http_headers = {X-Team = "platform"}' in with_headers.text
    changed = present(with_headers.text, stored(with_headers.record),
                      DESIRED._replace(http_headers={"X-Team": "data"}))
    assert changed.set_keys == ["model_providers.databricks.http_headers"]
    assert absent(changed.text, stored(changed.record)).text == USER_FILE


def test_headers_we_set_earlier_go_when_no_longer_given():
    text = USERS_OWN_PROVIDER
    with_headers = present(text, desired=DESIRED._replace(http_headers={"X-Team": "platform"}))
    without = present(with_headers.text, stored(with_headers.record))
    assert "http_headers" not in loads(without.text)["model_providers"]["databricks"]
    assert absent(without.text, stored(without.record)).text == text


def test_an_inline_model_providers_table_is_refused_without_writing():
    with pytest.raises(cc.ConfigError) as error:
        present('model_providers = { llama-server = { name = "O" } }\n')
    assert error.value.kind == "layout"
    assert "Nothing was changed" in error.value.message and "[model_providers.databricks]" in error.value.message


@pytest.mark.parametrize("text, name", [
    ('model_providers = "x"\n', "model_providers"),
    ('[model_providers]\ndatabricks = 3\n', "model_providers.databricks"),
    ('[model_providers.databricks]\nauth = "cmd"\n', "model_providers.databricks.auth"),
])
def test_a_key_of_ours_with_the_wrong_type_is_reported(text, name):
    assert cc.shape_problems(loads(text))[0][0] == tuple(name.split("."))
    with pytest.raises(cc.ConfigError) as error:
        present(text)
    assert error.value.kind == "bad_shape" and name in error.value.message


# --------------------------------------------------------------------------------------- properties

FRAGMENTS = {
    "comment": "# a comment\n",
    "blank": "\n",
    "key": 'approval_policy = "on-request"\n',
    "model": "model = 'o3' # mine\n",
    "provider": 'model_provider = "llama-server"\n',
    "array": 'notify = [\n  "a",\n  "b",\n]\n',
    "dotted": 'features.web_search = true\n',
}
TABLES = {
    "tui": "[tui]\nnotifications = true\n",
    "ollama": '[model_providers.llama-server]\nname = "Ollama"\nbase_url = "http://localhost:11434/v1"\n',
    "profile": '[profiles.fast]\nmodel = "o4-mini"\n',
    "mcp": '[mcp_servers.docs]\ncommand = "npx"\nenv = { A = "b" }\n',
    "project": '[projects."/src/app"]\ntrust_level = "trusted"\n',
    "aot": '[[hooks]]\nevent = "stop"\n',
    "vllm": '[model_providers.vllm]\nname = "vLLM"\n',
}


@st.composite
def user_files(draw):
    """A config.toml made of realistic pieces, in any order, with any blank lines and comments between tables."""
    top = draw(st.lists(st.sampled_from(sorted(FRAGMENTS)), max_size=5, unique=True))
    tables = draw(st.lists(st.sampled_from(sorted(TABLES)), max_size=4, unique=True))
    text = "".join(FRAGMENTS[name] for name in top)
    for name in tables:
        text += draw(st.sampled_from(["", "\n", "\n\n", "# next\n", "\n# next\n"])) + TABLES[name]
    if draw(st.booleans()):
        text = text.rstrip("\n")
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(user_files())
def test_every_generated_file_comes_back_and_codex_reads_ours(text):
    first, second, back = round_trip(text)
    data = loads(first.text)
    assert data["model"] == "databricks-gpt-5-5" and data["model_provider"] == "databricks"
    assert data["model_providers"]["databricks"] == OUR_PROVIDER
    original = loads(text)
    for key, value in original.items():
        if key not in ("model", "model_provider", "model_providers"):
            assert data[key] == value
    assert second.text == first.text
    assert back.text == (text or None)
    # Nothing of the user's moved: their other lines are in the new file, in their order.
    kept = [line for line in text.splitlines() if not line.startswith(("model =", "model_provider ="))]
    lines = iter(first.text.splitlines())
    assert all(any(line == candidate for candidate in lines) for line in kept), first.text


def test_a_provider_split_across_the_file_stays_where_it_was():
    text = ('[model_providers.llama-server]\nname = "O"\n[[hooks]]\nevent = "stop"\n'
            '[model_providers.databricks.auth]\ncommand = "/old/helper"\n')
    first, _second, back = round_trip(text)
    assert first.text.index("[[hooks]]") < first.text.index("[model_providers.databricks]") < \
        first.text.index("[model_providers.databricks.auth]")
    assert loads(first.text)["model_providers"]["databricks"] == OUR_PROVIDER
    assert back.text == text


def test_a_lost_sidecar_does_not_make_ours_look_like_the_users():
    first = present(USER_FILE)
    # The sidecar is gone; the setup runs again, then the uninstall.
    again = present(first.text, None)
    assert "before" not in again.record["keys"]["model_provider"]
    assert again.record["provider_created"] is True
    back = absent(again.text, stored(again.record))
    data = loads(back.text)
    assert "model_provider" not in data and "databricks" not in data["model_providers"]
    # The user's own model was replaced before the sidecar was lost: it cannot come back, ours is removed.
    assert "model" not in data
