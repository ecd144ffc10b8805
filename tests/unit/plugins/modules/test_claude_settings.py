# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the claude_settings module: the module run in-process on files in a temp directory."""

from __future__ import annotations

import json
import os
import stat

import pytest


from ansible_collections.fmapi.coding_agents.plugins.modules import claude_settings
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main

HOST = "https://example.cloud.databricks.com"
HELPER = "/home/dev/.claude/fmapi-key-helper.sh"
BASE_URL = HOST + "/serving-endpoints/anthropic"
LEGACY_TOKEN = "dapi0123456789abcdef-legacy-token"

OUR_ENV = {
    "ANTHROPIC_BASE_URL": BASE_URL,
    "ANTHROPIC_MODEL": "databricks-claude-opus-4-6",
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "databricks-claude-opus-4-6",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "databricks-claude-sonnet-4-6",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "databricks-claude-haiku-4-5",
    "ANTHROPIC_CUSTOM_HEADERS": "x-databricks-use-coding-agent-mode: true",
    "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1",
    "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "1800000",
}

# A user's settings file as Claude Code writes them (2 spaces, final newline), with nested settings,
# non-ASCII text, and a deny list of their own.
USER_FILE = """{
  "model": "opus",
  "env": {
    "EDITOR": "vim",
    "GREETING": "Grüß dich ✓"
  },
  "permissions": {
    "allow": [
      "Bash(npm run test:*)"
    ],
    "deny": [
      "Read(./.env)"
    ],
    "defaultMode": "acceptEdits"
  },
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Edit",
        "hooks": [
          {
            "type": "command",
            "command": "prettier --write"
          }
        ]
      }
    ]
  },
  "includeCoAuthoredBy": false,
  "cleanupPeriodDays": 20
}
"""


@pytest.fixture(name="settings_path")
def settings_path_fixture(tmp_path):
    return tmp_path / "home" / ".claude" / "settings.json"


@pytest.fixture(name="run")
def run_fixture(capsys, settings_path):
    """Run the module with the standard present arguments updated by ``args``; return its result."""

    def run(check=False, diff=False, expect_failure=False, **args):
        module_args = {"path": str(settings_path), "host": HOST, "api_key_helper": HELPER}
        if args.get("state") == "absent":
            del module_args["host"], module_args["api_key_helper"]
        module_args.update(args)
        return run_main(claude_settings.main, capsys, module_args, check, diff, expect_failure)

    return run


def write(path, content, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.chmod(path, mode)


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def sidecar(path):
    return path.parent / ("." + path.name + ".fmapi-state.json")


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------ creating

def test_creates_missing_file_and_directory_privately(run, settings_path):
    result = run()
    assert result["changed"] is True
    assert file_mode(settings_path) == 0o600
    assert file_mode(settings_path.parent) == 0o700
    text = settings_path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "apiKeyHelper": ')
    assert text.endswith("}\n")
    assert load(settings_path) == {"apiKeyHelper": HELPER, "env": OUR_ENV, "permissions": {"deny": ["WebSearch"]}}
    assert list(load(settings_path)["env"]) == list(OUR_ENV)
    assert result["settings"] == {"apiKeyHelper": HELPER, "env": OUR_ENV, "permissions": {"deny": ["WebSearch"]}}
    assert result["set_keys"] == ["apiKeyHelper"] + ["env." + key for key in OUR_ENV] + ["permissions.deny[WebSearch]"]
    assert result["removed_keys"] == [] and result["repaired"] == [] and result["backup_file"] is None
    assert result["path"] == str(settings_path)
    assert result["state_file"] == str(sidecar(settings_path))
    assert file_mode(sidecar(settings_path)) == 0o600


def test_existing_parent_directory_mode_is_left_alone(run, settings_path):
    settings_path.parent.mkdir(parents=True)
    os.chmod(settings_path.parent, 0o755)
    run()
    assert file_mode(settings_path.parent) == 0o755


def test_empty_file_counts_as_empty_object(run, settings_path):
    write(settings_path, b"")
    result = run()
    assert result["changed"] is True
    assert load(settings_path)["env"] == OUR_ENV


def test_relative_home_path_is_expanded(run, settings_path, monkeypatch):
    monkeypatch.setenv("HOME", str(settings_path.parent.parent))
    result = run(path="~/.claude/settings.json")
    assert result["path"] == str(settings_path)
    assert load(settings_path)["apiKeyHelper"] == HELPER


# ------------------------------------------------------------- merging

def test_merge_keeps_user_settings_and_order(run, settings_path):
    write(settings_path, USER_FILE)
    before = json.loads(USER_FILE)
    run()
    after = load(settings_path)
    assert list(after) == ["model", "env", "permissions", "hooks", "includeCoAuthoredBy", "cleanupPeriodDays",
                           "apiKeyHelper"]
    assert list(after["env"]) == ["EDITOR", "GREETING"] + list(OUR_ENV)
    assert after["env"]["GREETING"] == "Grüß dich ✓"
    assert after["permissions"] == {"allow": ["Bash(npm run test:*)"], "deny": ["Read(./.env)", "WebSearch"],
                                    "defaultMode": "acceptEdits"}
    for key in ("model", "hooks", "includeCoAuthoredBy", "cleanupPeriodDays"):
        assert after[key] == before[key]
    assert "Grüß dich ✓" in settings_path.read_text(encoding="utf-8")


def test_owned_keys_already_present_keep_their_place(run, settings_path):
    write(settings_path, json.dumps({
        "env": {"A": "1", "ANTHROPIC_MODEL": "old-model", "B": "2"},
        "apiKeyHelper": "/old/helper",
        "theme": "dark",
    }, indent=2) + "\n")
    result = run()
    after = load(settings_path)
    assert list(after) == ["env", "apiKeyHelper", "theme", "permissions"]
    assert list(after["env"])[:3] == ["A", "ANTHROPIC_MODEL", "B"]
    assert after["env"]["ANTHROPIC_MODEL"] == "databricks-claude-opus-4-6"
    assert "env.ANTHROPIC_MODEL" in result["set_keys"] and "apiKeyHelper" in result["set_keys"]


def test_second_run_changes_nothing_and_does_not_rewrite(run, settings_path):
    write(settings_path, USER_FILE)
    assert run()["changed"] is True
    content = settings_path.read_bytes()
    inode = os.stat(settings_path).st_ino
    state = sidecar(settings_path).read_bytes()
    result = run(diff=True)
    assert result["changed"] is False
    assert result["set_keys"] == [] and result["removed_keys"] == []
    assert result["settings"] == {"apiKeyHelper": HELPER, "env": OUR_ENV, "permissions": {"deny": ["WebSearch"]}}
    assert "diff" not in result
    assert settings_path.read_bytes() == content
    assert os.stat(settings_path).st_ino == inode
    assert sidecar(settings_path).read_bytes() == state


def test_file_already_right_is_left_byte_for_byte_whatever_its_formatting(run, settings_path):
    data = {"apiKeyHelper": HELPER, "env": dict(OUR_ENV, ZED="z"), "permissions": {"deny": ["WebSearch"]}}
    odd = json.dumps(data, indent=None, separators=(" ,", " : ")).replace("{", "{ ", 1)
    write(settings_path, odd, mode=0o640)
    result = run(deny_web_search=True)
    assert result["changed"] is False
    assert settings_path.read_bytes() == odd.encode("utf-8")
    # Not rewritten, so not re-moded either.
    assert file_mode(settings_path) == 0o640


def test_model_change_touches_only_that_value(run, settings_path):
    write(settings_path, USER_FILE)
    run()
    before = settings_path.read_text(encoding="utf-8").splitlines()
    result = run(model="databricks-claude-sonnet-4-6", diff=True)
    after = settings_path.read_text(encoding="utf-8").splitlines()
    assert result["changed"] is True
    assert result["set_keys"] == ["env.ANTHROPIC_MODEL"]
    assert len(before) == len(after)
    changed_lines = [(old, new) for old, new in zip(before, after) if old != new]
    assert changed_lines == [('    "ANTHROPIC_MODEL": "databricks-claude-opus-4-6",',
                              '    "ANTHROPIC_MODEL": "databricks-claude-sonnet-4-6",')]
    assert result["settings"]["env"]["ANTHROPIC_MODEL"] == "databricks-claude-sonnet-4-6"


def test_every_option_lands_in_its_key(run, settings_path):
    result = run(host=HOST + "//", gateway="ai-gateway", model="m-default", opus="m-opus", sonnet="m-sonnet",
                 haiku="m-haiku", ttl_minutes=7, api_key_helper="sh '/opt/my helper.sh'")
    env = load(settings_path)["env"]
    assert env["ANTHROPIC_BASE_URL"] == HOST + "/ai-gateway/anthropic"
    assert (env["ANTHROPIC_MODEL"], env["ANTHROPIC_DEFAULT_OPUS_MODEL"], env["ANTHROPIC_DEFAULT_SONNET_MODEL"],
            env["ANTHROPIC_DEFAULT_HAIKU_MODEL"]) == ("m-default", "m-opus", "m-sonnet", "m-haiku")
    assert env["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"] == "420000"
    assert load(settings_path)["apiKeyHelper"] == "sh '/opt/my helper.sh'"
    assert result["settings"]["env"] == env


@pytest.mark.parametrize("minutes, ms", [(1, "60000"), (60, "3600000")])
def test_ttl_bounds_convert_to_milliseconds_strings(run, settings_path, minutes, ms):
    run(ttl_minutes=minutes)
    assert load(settings_path)["env"]["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"] == ms


def test_non_string_owned_value_is_rewritten_as_string(run, settings_path):
    write(settings_path, json.dumps({"apiKeyHelper": HELPER, "env": dict(OUR_ENV, CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1),
                                     "permissions": {"deny": ["WebSearch"]}}))
    result = run()
    assert result["set_keys"] == ["env.CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"]
    assert load(settings_path)["env"]["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == "1"


@pytest.mark.parametrize("indent_text, indent", [("    ", 4), ("\t", "\t")])
def test_indentation_style_is_kept(run, settings_path, indent_text, indent):
    write(settings_path, json.dumps({"theme": "dark", "env": {"A": "b"}}, indent=indent) + "\n")
    run()
    text = settings_path.read_text(encoding="utf-8")
    assert text == json.dumps(load(settings_path), indent=indent, ensure_ascii=False) + "\n"
    assert text.startswith('{\n' + indent_text + '"theme": "dark",\n' + indent_text + '"env": {\n'
                           + indent_text * 2 + '"A": "b",')


def test_minified_file_gets_two_spaces(run, settings_path):
    write(settings_path, '{"theme":"dark"}')
    run()
    assert settings_path.read_text(encoding="utf-8").startswith('{\n  "theme": "dark",\n  "apiKeyHelper"')


def test_duplicate_keys_use_the_last_value(run, settings_path):
    write(settings_path, '{"theme": "light", "theme": "dark"}\n')
    run()
    assert load(settings_path)["theme"] == "dark"


# ------------------------------------------------------------- absent

def test_absent_deletes_a_file_that_only_held_our_keys(run, settings_path):
    run()
    result = run(state="absent")
    assert result["changed"] is True and result["file_deleted"] is True
    assert not settings_path.exists()
    assert not sidecar(settings_path).exists()
    assert result["settings"] == {} and result["state_file"] is None
    assert set(result["removed_keys"]) == {"apiKeyHelper", "permissions.deny[WebSearch]"} | {
        "env." + key for key in OUR_ENV}
    again = run(state="absent")
    assert again["changed"] is False and again["file_deleted"] is False


def test_absent_on_missing_file_changes_nothing(run, settings_path):
    result = run(state="absent")
    assert result["changed"] is False
    assert not settings_path.parent.exists()


@pytest.mark.parametrize("user_file", [
    USER_FILE,
    '{\n  "theme": "dark"\n}\n',
    '{\n  "permissions": {\n    "allow": [\n      "Read"\n    ]\n  }\n}\n',
    '{\n  "permissions": {\n    "deny": []\n  }\n}\n',
    '{\n  "env": {\n    "EDITOR": "vim"\n  },\n  "model": "sonnet"\n}\n',
], ids=["full", "no-env-no-permissions", "permissions-without-deny", "empty-deny", "env-first"])
def test_present_then_absent_gives_back_the_original_bytes(run, settings_path, user_file):
    write(settings_path, user_file)
    run(ttl_minutes=12, model="x")
    assert settings_path.read_text(encoding="utf-8") != user_file
    result = run(state="absent")
    assert result["changed"] is True and result["file_deleted"] is False
    assert settings_path.read_text(encoding="utf-8") == user_file
    assert not sidecar(settings_path).exists()


def test_absent_keeps_user_keys_and_removes_legacy_ones(run, settings_path):
    write(settings_path, json.dumps({
        "_fmapi_meta": {"version": "1"},
        "env": {"ANTHROPIC_AUTH_TOKEN": LEGACY_TOKEN, "ANTHROPIC_BASE_URL": BASE_URL, "EDITOR": "vim"},
        "apiKeyHelper": HELPER,
        "theme": "dark",
    }, indent=2) + "\n")
    result = run(state="absent", diff=True)
    assert load(settings_path) == {"env": {"EDITOR": "vim"}, "theme": "dark"}
    assert set(result["removed_keys"]) == {"_fmapi_meta", "env.ANTHROPIC_AUTH_TOKEN", "env.ANTHROPIC_BASE_URL",
                                           "apiKeyHelper"}
    assert LEGACY_TOKEN not in result["_stdout"]


def test_absent_drops_env_only_when_it_emptied_it(run, settings_path):
    write(settings_path, '{\n  "env": {},\n  "theme": "dark"\n}\n')
    result = run(state="absent")
    assert result["changed"] is False
    assert load(settings_path) == {"env": {}, "theme": "dark"}


def test_absent_leaves_a_non_object_env_alone_with_a_warning(run, settings_path):
    write(settings_path, '{"env": "oops", "apiKeyHelper": "/x"}')
    result = run(state="absent")
    assert load(settings_path) == {"env": "oops"}
    assert any("'env' is a JSON string" in warning for warning in result["_warnings"])


# ----------------------------------------------------------- legacy

def test_present_removes_legacy_token_and_meta_without_showing_the_token(run, settings_path):
    write(settings_path, json.dumps({
        "_fmapi_meta": {"installed": "2024"},
        "env": {"ANTHROPIC_AUTH_TOKEN": LEGACY_TOKEN, "EDITOR": "vim"},
    }, indent=2))
    result = run(diff=True, backup=True)
    after = load(settings_path)
    assert "_fmapi_meta" not in after and "ANTHROPIC_AUTH_TOKEN" not in after["env"]
    assert after["env"]["EDITOR"] == "vim"
    assert result["removed_keys"] == ["env.ANTHROPIC_AUTH_TOKEN", "_fmapi_meta"]
    assert LEGACY_TOKEN not in result["_stdout"]
    assert "ANTHROPIC_AUTH_TOKEN" in result["diff"]["before"]
    # The backup keeps everything, token included, and is as private as the settings file.
    assert LEGACY_TOKEN in open(result["backup_file"], encoding="utf-8").read()
    assert file_mode(result["backup_file"]) == 0o600


def test_other_credentials_in_env_are_masked_in_the_diff(run, settings_path):
    write(settings_path, '{\n  "env": {\n    "GITHUB_TOKEN": "ghp_supersecretvalue"\n  }\n}\n')
    result = run(diff=True)
    assert "ghp_supersecretvalue" not in result["_stdout"]
    assert "GITHUB_TOKEN" in result["diff"]["after"]
    assert "ghp_supersecretvalue" in settings_path.read_text(encoding="utf-8")


def test_competing_api_key_is_kept_with_a_warning(run, settings_path):
    write(settings_path, '{"env": {"ANTHROPIC_API_KEY": "sk-ant-0123456789"}}')
    result = run()
    assert load(settings_path)["env"]["ANTHROPIC_API_KEY"] == "sk-ant-0123456789"
    assert any("ANTHROPIC_API_KEY is set" in warning for warning in result["_warnings"])
    assert "sk-ant-0123456789" not in result["_stdout"]


# ----------------------------------------------------------- WebSearch

def test_web_search_is_appended_once_after_user_entries(run, settings_path):
    write(settings_path, '{"permissions": {"deny": ["Bash(rm:*)", "Read(./secrets/**)"], "allow": ["Read"]}}')
    run()
    run()
    assert load(settings_path)["permissions"] == {"deny": ["Bash(rm:*)", "Read(./secrets/**)", "WebSearch"],
                                                  "allow": ["Read"]}


def test_users_own_web_search_entry_is_never_removed(run, settings_path):
    write(settings_path, '{\n  "permissions": {\n    "deny": [\n      "WebSearch"\n    ]\n  }\n}\n')
    result = run()
    assert "permissions.deny[WebSearch]" not in result["set_keys"]
    assert not sidecar(settings_path).exists()
    assert load(settings_path)["permissions"] == {"deny": ["WebSearch"]}
    run(deny_web_search=False)
    assert load(settings_path)["permissions"] == {"deny": ["WebSearch"]}
    run(state="absent")
    assert load(settings_path) == {"permissions": {"deny": ["WebSearch"]}}


def test_deny_web_search_false_takes_back_only_our_entry(run, settings_path):
    write(settings_path, '{"permissions": {"deny": ["Bash(rm:*)"]}}')
    run()
    assert load(settings_path)["permissions"]["deny"] == ["Bash(rm:*)", "WebSearch"]
    result = run(deny_web_search=False)
    assert result["changed"] is True
    assert result["removed_keys"] == ["permissions.deny[WebSearch]"]
    assert load(settings_path)["permissions"] == {"deny": ["Bash(rm:*)"]}
    assert not sidecar(settings_path).exists()
    assert "permissions" not in result["settings"]
    assert run(deny_web_search=False)["changed"] is False


def test_deny_web_search_false_on_a_fresh_file_adds_no_permissions(run, settings_path):
    result = run(deny_web_search=False)
    assert "permissions" not in load(settings_path)
    assert result["state_file"] is None and not sidecar(settings_path).exists()


def test_web_search_readded_after_the_user_removed_it_is_still_ours(run, settings_path):
    run()
    data = load(settings_path)
    data["permissions"]["deny"] = []
    write(settings_path, json.dumps(data, indent=2) + "\n")
    result = run()
    assert result["set_keys"] == ["permissions.deny[WebSearch]"]
    run(state="absent")
    assert not settings_path.exists()


def test_a_second_web_search_entry_added_by_the_user_survives_absent(run, settings_path):
    run()
    data = load(settings_path)
    data["permissions"]["deny"].append("WebSearch")
    write(settings_path, json.dumps(data, indent=2) + "\n")
    run(state="absent")
    assert load(settings_path) == {"permissions": {"deny": ["WebSearch"]}}


def test_lost_sidecar_means_the_entry_is_kept(run, settings_path):
    run()
    sidecar(settings_path).unlink()
    run(state="absent")
    assert load(settings_path) == {"permissions": {"deny": ["WebSearch"]}}


def test_unreadable_sidecar_is_treated_as_no_record_and_replaced(run, settings_path):
    write(settings_path, "{}")
    write(sidecar(settings_path), "garbage")
    result = run()
    # WebSearch was added by this run, so the garbage is replaced by a real record.
    assert json.loads(sidecar(settings_path).read_text())["web_search_deny"]["added"] is True
    assert result["changed"] is True


# ----------------------------------------------------- broken files

CORRUPT = b'{\n  "theme": "dark",\n  "env": {\n    "EDITOR": "vim"\n  \n}\n'


def test_corrupt_file_fails_and_is_left_untouched(run, settings_path):
    write(settings_path, CORRUPT)
    for state in ("present", "absent"):
        result = run(state=state, expect_failure=True)
        assert settings_path.read_bytes() == CORRUPT
        assert str(settings_path) in result["msg"]
        assert "is not valid JSON" in result["msg"] and "line 7, column 1" in result["msg"]
        assert "repair=true" in result["msg"] and "Nothing was changed" in result["msg"]
    assert sorted(os.listdir(settings_path.parent)) == ["settings.json"]


def test_repair_backs_up_and_rewrites_with_only_our_keys(run, settings_path):
    write(settings_path, CORRUPT)
    result = run(repair=True)
    assert result["changed"] is True and result["repaired"] == ["file"]
    backup = result["backup_file"]
    assert backup and os.path.dirname(backup) == str(settings_path.parent)
    assert open(backup, "rb").read() == CORRUPT
    assert load(settings_path) == {"apiKeyHelper": HELPER, "env": OUR_ENV, "permissions": {"deny": ["WebSearch"]}}
    assert run(repair=True)["changed"] is False


def test_repair_in_check_mode_changes_nothing(run, settings_path):
    write(settings_path, CORRUPT)
    result = run(repair=True, check=True)
    assert result["changed"] is True and result["backup_file"] is None
    assert sorted(os.listdir(settings_path.parent)) == ["settings.json"]
    assert settings_path.read_bytes() == CORRUPT


def test_absent_with_repair_moves_a_corrupt_file_aside(run, settings_path):
    write(settings_path, CORRUPT)
    result = run(state="absent", repair=True)
    assert result["file_deleted"] is True and result["repaired"] == ["file"]
    assert not settings_path.exists()
    assert open(result["backup_file"], "rb").read() == CORRUPT


@pytest.mark.parametrize("content, kind", [(b"[1, 2]\n", "array"), (b'"text"', "string"), (b"null", "null")])
def test_non_object_root_fails_then_repairs(run, settings_path, content, kind):
    write(settings_path, content)
    result = run(expect_failure=True)
    assert "holds a JSON %s at the top level" % kind in result["msg"]
    assert settings_path.read_bytes() == content
    result = run(repair=True)
    assert open(result["backup_file"], "rb").read() == content
    assert load(settings_path)["env"] == OUR_ENV


def test_invalid_utf8_fails(run, settings_path):
    content = b'{"theme": "\xe9t\xe9"}'
    write(settings_path, content)
    result = run(expect_failure=True)
    assert "not valid UTF-8" in result["msg"]
    assert settings_path.read_bytes() == content


def test_env_of_the_wrong_type_fails_then_repair_replaces_only_env(run, settings_path):
    content = '{\n  "theme": "dark",\n  "env": ["EDITOR=vim"]\n}\n'
    write(settings_path, content)
    result = run(expect_failure=True)
    assert "'env' is a JSON array" in result["msg"] and "repair=true" in result["msg"]
    assert settings_path.read_text() == content
    result = run(repair=True)
    assert result["repaired"] == ["env"]
    assert open(result["backup_file"], encoding="utf-8").read() == content
    after = load(settings_path)
    assert list(after)[:2] == ["theme", "env"] and after["theme"] == "dark" and after["env"] == OUR_ENV


@pytest.mark.parametrize("content, key", [
    ('{"permissions": ["WebSearch"]}', "'permissions' is a JSON array"),
    ('{"permissions": {"deny": "WebSearch", "allow": ["Read"]}}', "'permissions.deny' is a JSON string"),
])
def test_permissions_of_the_wrong_type_fail_then_repair(run, settings_path, content, key):
    write(settings_path, content)
    result = run(expect_failure=True)
    assert key in result["msg"]
    assert settings_path.read_text() == content
    result = run(repair=True)
    assert load(settings_path)["permissions"]["deny"] == ["WebSearch"]
    if "allow" in content:
        assert load(settings_path)["permissions"]["allow"] == ["Read"]
    # What repair created is ours to remove again.
    run(state="absent")
    assert not settings_path.exists() or "WebSearch" not in settings_path.read_text()


def test_wrong_permissions_type_is_irrelevant_without_deny_web_search(run, settings_path):
    write(settings_path, '{"permissions": "odd"}')
    run(deny_web_search=False)
    assert load(settings_path)["permissions"] == "odd"


def test_path_that_is_a_directory_fails(run, settings_path):
    settings_path.mkdir(parents=True)
    result = run(expect_failure=True)
    assert "is a directory" in result["msg"]


# ----------------------------------------------------------------- BOM

def test_bom_file_is_read_kept_and_not_rewritten_when_right(run, settings_path):
    write(settings_path, b"\xef\xbb\xbf" + b'{\n    "theme": "dark"\n}\n')
    run()
    raw = settings_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf{\n    \"theme\": \"dark\",\n")
    assert json.loads(raw.decode("utf-8-sig"))["env"] == OUR_ENV
    assert run()["changed"] is False
    assert settings_path.read_bytes() == raw


# ------------------------------------------------------------- symlink

def test_symlinked_file_is_written_through(run, settings_path, tmp_path):
    target = tmp_path / "dotfiles" / "claude-settings.json"
    write(target, '{\n  "theme": "dark"\n}\n', mode=0o644)
    settings_path.parent.mkdir(parents=True)
    settings_path.symlink_to(target)
    result = run()
    assert settings_path.is_symlink() and os.readlink(settings_path) == str(target)
    assert load(target)["env"] == OUR_ENV and load(target)["theme"] == "dark"
    assert file_mode(target) == 0o600
    assert sorted(os.listdir(target.parent)) == ["claude-settings.json"]
    assert result["changed"] is True
    assert run()["changed"] is False


def test_symlinked_file_left_empty_by_absent_is_kept(run, settings_path, tmp_path):
    target = tmp_path / "dotfiles" / "claude-settings.json"
    write(target, "{}")
    settings_path.parent.mkdir(parents=True)
    settings_path.symlink_to(target)
    run()
    result = run(state="absent")
    assert result["file_deleted"] is False
    assert settings_path.is_symlink()
    assert target.read_text() == "{}\n"
    assert run(state="absent")["changed"] is False


# ------------------------------------------------------ check and diff

def test_check_mode_writes_nothing(run, settings_path):
    result = run(check=True)
    assert result["changed"] is True
    assert result["set_keys"][0] == "apiKeyHelper"
    assert not settings_path.parent.exists()

    write(settings_path, USER_FILE)
    result = run(check=True, backup=True)
    assert result["changed"] is True and result["backup_file"] is None
    assert settings_path.read_text(encoding="utf-8") == USER_FILE
    assert sorted(os.listdir(settings_path.parent)) == ["settings.json"]

    run()
    content = settings_path.read_bytes()
    result = run(state="absent", check=True)
    assert result["changed"] is True and result["file_deleted"] is False
    assert settings_path.read_bytes() == content and sidecar(settings_path).exists()


def test_diff_shows_the_json_text_before_and_after(run, settings_path):
    write(settings_path, USER_FILE)
    result = run(diff=True)
    diff = result["diff"]
    assert diff["before"] == USER_FILE
    assert diff["after"] == settings_path.read_text(encoding="utf-8")
    assert diff["before_header"] == diff["after_header"] == str(settings_path)

    new_path = settings_path.parent / "other.json"
    result = run(path=str(new_path), diff=True, check=True)
    assert result["diff"]["before"] == ""
    assert result["diff"]["before_header"] == str(new_path) + " (absent)"
    assert json.loads(result["diff"]["after"])["env"] == OUR_ENV

    result = run(state="absent", path=str(settings_path), diff=True)
    assert result["diff"]["after"] == USER_FILE


def test_diff_of_a_deleted_file(run, settings_path):
    run()
    result = run(state="absent", diff=True)
    assert result["diff"]["after"] == ""
    assert result["diff"]["after_header"] == str(settings_path) + " (deleted)"


# -------------------------------------------------------------- backup

def test_backup_only_when_something_changes(run, settings_path):
    write(settings_path, USER_FILE)
    result = run(backup=True)
    assert open(result["backup_file"], encoding="utf-8").read() == USER_FILE
    assert run(backup=True)["backup_file"] is None


def test_no_backup_of_a_file_that_did_not_exist(run, settings_path):
    assert run(backup=True)["backup_file"] is None


# ---------------------------------------------------------- validation

@pytest.mark.parametrize("args, message", [
    ({"host": "http://example.cloud.databricks.com"}, "must start with https://"),
    ({"host": "example.cloud.databricks.com"}, "must start with https://"),
    ({"host": "http://127.0.0.1:8080"}, "must start with https://"),
    ({"host": "https://x.example.com\"}, \"apiKeyHelper\": \"evil"}, "which no workspace URL has"),
    ({"host": "https://dev@example.cloud.databricks.com"}, "must not contain a user name"),
    ({"model": ""}, "model must be a serving endpoint name"),
    ({"opus": "a\nb"}, "opus must be a serving endpoint name"),
    ({"haiku": "   "}, "haiku must be a serving endpoint name"),
    ({"sonnet": "claude sonnet"}, "sonnet must be a serving endpoint name"),
    ({"allow_loopback_http": True}, "Unsupported parameters"),
    ({"api_key_helper": "/x\nrm -rf ~"}, "api_key_helper must be a single line"),
    ({"ttl_minutes": 0}, "ttl_minutes must be a whole number from 1 to 60"),
    ({"ttl_minutes": 61}, "ttl_minutes must be a whole number from 1 to 60"),
    ({"host": None}, "state is present but all of the following are missing: host"),
    ({"api_key_helper": None}, "api_key_helper"),
    ({"gateway": "other"}, "gateway"),
])
def test_invalid_values_fail_before_touching_anything(run, settings_path, args, message):
    write(settings_path, USER_FILE)
    result = run(expect_failure=True, **args)
    assert message in result["msg"]
    assert settings_path.read_text(encoding="utf-8") == USER_FILE


def test_helper_command_with_an_inlined_token_is_refused_without_showing_it(run, settings_path):
    pat = "dapi" + "0123456789abcdef" * 2
    result = run(expect_failure=True, api_key_helper="echo " + pat)
    assert "seems to contain a Databricks token" in result["msg"]
    assert pat not in result["_stdout"]
    assert not settings_path.exists()


def test_plain_http_is_refused_even_for_a_loopback_address(run, settings_path):
    result = run(host="http://127.0.0.1:8080/", expect_failure=True)
    assert "must start with https://" in result["msg"]
    assert not settings_path.exists()
    result = run(host="http://127.0.0.1:8080/", allow_loopback_http=True, expect_failure=True)
    assert "allow_loopback_http" in result["msg"]
    assert not settings_path.exists()


@pytest.mark.parametrize("pasted", [
    HOST + "/browse/folders/1234?o=5678",
    HOST + "/?o=1",
    HOST + "/serving-endpoints/anthropic",
    HOST + "/ml/endpoints#x",
    HOST.upper().replace("HTTPS", "https") + ":443",
])
def test_a_url_copied_from_the_browser_is_reduced_to_the_workspace(run, settings_path, pasted):
    result = run(host=pasted)
    assert load(settings_path)["env"]["ANTHROPIC_BASE_URL"] == BASE_URL
    assert result["settings"]["env"]["ANTHROPIC_BASE_URL"] == BASE_URL
    assert run(host=HOST)["changed"] is False


def test_absent_needs_no_host(run, settings_path):
    write(settings_path, USER_FILE)
    assert run(state="absent")["changed"] is False
    assert settings_path.read_text(encoding="utf-8") == USER_FILE


# ---------------------------------------------------- pure merge helpers

def test_merge_present_does_not_modify_its_input():
    data = {"env": {"A": "1"}, "permissions": {"deny": ["X"]}}
    snapshot = json.dumps(data)
    result = claude_settings.merge_present(data, dict(OUR_ENV), HELPER, True, None)
    assert json.dumps(data) == snapshot
    assert result.record == {"web_search_deny": {"added": True, "created_permissions": False, "created_deny": False}}


def test_merge_absent_without_record_keeps_web_search():
    data = {"permissions": {"deny": ["WebSearch"]}, "apiKeyHelper": HELPER}
    result = claude_settings.merge_absent(data, None)
    assert result.data == {"permissions": {"deny": ["WebSearch"]}}


# ------------------------------------------------------ system failures

def test_write_failure_is_reported_and_the_file_kept(run, settings_path, monkeypatch):
    write(settings_path, USER_FILE)

    def full_disk(module, path, content, mode_bits):
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(claude_settings, "atomic_write", full_disk)
    result = run(expect_failure=True)
    assert result["msg"] == "Cannot write %s: No space left on device" % settings_path
    assert settings_path.read_text(encoding="utf-8") == USER_FILE


def test_backup_failure_stops_before_any_change(run, settings_path, monkeypatch):
    write(settings_path, USER_FILE)

    def broken_backup(self, path):
        raise Exception("Could not make backup of %r" % path)

    monkeypatch.setattr(claude_settings.AnsibleModule, "backup_local", broken_backup)
    result = run(expect_failure=True, backup=True)
    assert result["msg"].startswith("Cannot back up %s, so nothing was changed" % settings_path)
    assert settings_path.read_text(encoding="utf-8") == USER_FILE


def test_unreadable_file_is_reported(run, settings_path, monkeypatch):
    write(settings_path, USER_FILE)

    def denied(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(claude_settings, "read_bytes", denied)
    result = run(expect_failure=True)
    assert result["msg"] == "Cannot read %s: [Errno 13] Permission denied: '%s'" % (settings_path, settings_path)


# ------------------------------------------------------ the plugin, in the same write

MARKETPLACE = "fmapi-coding-agents"
PLUGIN_ID = "fmapi-coding-agents@fmapi-coding-agents"
SOURCE = "/home/dev/.claude/fmapi-coding-agents/marketplace"
PLUGIN = {"source": SOURCE, "marketplace": MARKETPLACE, "plugin": "fmapi-coding-agents"}
DECLARED = {"source": {"source": "directory", "path": SOURCE}}
# Plugins of the user's own, as Claude Code writes them.
TEAM_PLUGINS = {
    "extraKnownMarketplaces": {"team-tools": {"source": {"source": "github", "repo": "example/team-tools"}}},
    "enabledPlugins": {"formatter@team-tools": True, "linter@team-tools": False},
}


@pytest.fixture(name="writes")
def writes_fixture(monkeypatch):
    """The paths the module writes with atomic_write, in order (the writes still happen)."""
    written = []
    original = claude_settings.atomic_write

    def counting(module, path, content, mode):
        written.append(str(path))
        return original(module, path, content, mode)

    monkeypatch.setattr(claude_settings, "atomic_write", counting)
    return written


def test_plugin_is_declared_in_the_same_single_write(run, settings_path, writes):
    write(settings_path, USER_FILE)

    result = run(plugin=PLUGIN)

    assert writes.count(str(settings_path)) == 1
    data = load(settings_path)
    assert data["extraKnownMarketplaces"] == {MARKETPLACE: DECLARED}
    assert data["enabledPlugins"] == {PLUGIN_ID: True}
    assert data["env"]["ANTHROPIC_BASE_URL"] == BASE_URL and data["apiKeyHelper"] == HELPER
    assert data["model"] == "opus" and list(data)[:6] == list(json.loads(USER_FILE))
    assert result["plugin_id"] == PLUGIN_ID
    assert result["set_keys"][-2:] == ["extraKnownMarketplaces." + MARKETPLACE, "enabledPlugins." + PLUGIN_ID]
    assert "apiKeyHelper" in result["set_keys"]


def test_plugin_and_fmapi_keys_again_change_nothing_and_write_nothing(run, settings_path, writes):
    run(plugin=PLUGIN)
    inode = os.stat(settings_path).st_ino
    del writes[:]

    result = run(plugin=PLUGIN, diff=True)

    assert result["changed"] is False and result["set_keys"] == [] and "diff" not in result
    assert writes == [] and os.stat(settings_path).st_ino == inode


def test_plugin_source_is_written_absolute(run, settings_path, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    run(plugin=dict(PLUGIN, source="~/.claude/fmapi-coding-agents/marketplace"))
    assert load(settings_path)["extraKnownMarketplaces"][MARKETPLACE]["source"]["path"] == str(
        tmp_path / "home" / ".claude" / "fmapi-coding-agents" / "marketplace")


def test_plugin_keeps_other_marketplaces_and_plugins(run, settings_path):
    write(settings_path, json.dumps(TEAM_PLUGINS, indent=2) + "\n")
    run(plugin=PLUGIN, fmapi_keys=False)
    data = load(settings_path)
    assert list(data["extraKnownMarketplaces"]) == ["team-tools", MARKETPLACE]
    assert data["extraKnownMarketplaces"]["team-tools"] == TEAM_PLUGINS["extraKnownMarketplaces"]["team-tools"]
    assert data["enabledPlugins"] == dict(TEAM_PLUGINS["enabledPlugins"], **{PLUGIN_ID: True})


def test_a_moved_folder_updates_the_path_and_keeps_other_entry_members(run, settings_path):
    write(settings_path, json.dumps({
        "extraKnownMarketplaces": {MARKETPLACE: {"source": {"source": "directory", "path": "/old/place"},
                                                 "autoUpdate": False}},
        "enabledPlugins": {PLUGIN_ID: True},
    }, indent=2))
    result = run(plugin=PLUGIN, fmapi_keys=False)
    assert result["set_keys"] == ["extraKnownMarketplaces." + MARKETPLACE]
    assert load(settings_path)["extraKnownMarketplaces"][MARKETPLACE] == dict(DECLARED, autoUpdate=False)


def test_a_disabled_plugin_is_enabled_again(run, settings_path):
    write(settings_path, json.dumps({"extraKnownMarketplaces": {MARKETPLACE: DECLARED},
                                     "enabledPlugins": {PLUGIN_ID: False}}))
    result = run(plugin=PLUGIN, fmapi_keys=False)
    assert result["changed"] is True and result["set_keys"] == ["enabledPlugins." + PLUGIN_ID]
    assert load(settings_path)["enabledPlugins"] == {PLUGIN_ID: True}


def test_fmapi_keys_false_touches_only_the_plugin_keys(run, settings_path, writes):
    other_helper = "/somewhere/else/helper"
    fmapi = {"apiKeyHelper": other_helper, "env": dict(OUR_ENV, ANTHROPIC_MODEL="my-own-choice"),
             "permissions": {"deny": ["Read(./.env)"]}}
    write(settings_path, json.dumps(dict(fmapi, theme="dark"), indent=2) + "\n")

    # No host and no api_key_helper needed: this run does not write them.
    result = run(host=None, api_key_helper=None, fmapi_keys=False, plugin=PLUGIN)

    data = load(settings_path)
    assert {key: data[key] for key in fmapi} == fmapi
    assert data["theme"] == "dark"
    assert data["enabledPlugins"] == {PLUGIN_ID: True}
    assert result["set_keys"] == ["extraKnownMarketplaces." + MARKETPLACE, "enabledPlugins." + PLUGIN_ID]
    assert result["settings"] == {} and result["state_file"] is None
    assert writes == [str(settings_path)]
    assert not sidecar(settings_path).exists()


def test_fmapi_keys_false_on_a_new_file_declares_only_the_plugin(run, settings_path):
    run(host=None, api_key_helper=None, fmapi_keys=False, plugin=PLUGIN)
    assert load(settings_path) == {"extraKnownMarketplaces": {MARKETPLACE: DECLARED},
                                   "enabledPlugins": {PLUGIN_ID: True}}
    assert file_mode(settings_path) == 0o600


def test_absent_removes_fmapi_keys_and_plugin_together(run, settings_path, writes):
    write(settings_path, USER_FILE)
    run(plugin=PLUGIN)
    del writes[:]

    result = run(state="absent", plugin=PLUGIN)

    assert settings_path.read_text(encoding="utf-8") == USER_FILE
    assert writes == [str(settings_path)]
    assert {"extraKnownMarketplaces." + MARKETPLACE, "enabledPlugins." + PLUGIN_ID,
            "apiKeyHelper"} <= set(result["removed_keys"])
    assert result["plugin_id"] == PLUGIN_ID


def test_absent_deletes_a_file_that_held_only_fmapi_keys_and_the_plugin(run, settings_path):
    run(plugin=PLUGIN)
    result = run(state="absent", plugin=PLUGIN)
    assert result["file_deleted"] is True
    assert not settings_path.exists() and not sidecar(settings_path).exists()


def test_absent_with_fmapi_keys_false_removes_only_the_plugin(run, settings_path):
    write(settings_path, json.dumps(TEAM_PLUGINS, indent=2) + "\n")
    run(plugin=PLUGIN)
    fmapi_before = {key: load(settings_path)[key] for key in ("apiKeyHelper", "env", "permissions")}

    result = run(state="absent", fmapi_keys=False, plugin={"marketplace": MARKETPLACE, "plugin": "fmapi-coding-agents"})

    data = load(settings_path)
    assert {key: data[key] for key in fmapi_before} == fmapi_before
    assert data["extraKnownMarketplaces"] == TEAM_PLUGINS["extraKnownMarketplaces"]
    assert data["enabledPlugins"] == TEAM_PLUGINS["enabledPlugins"]
    assert result["removed_keys"] == ["extraKnownMarketplaces." + MARKETPLACE, "enabledPlugins." + PLUGIN_ID]
    assert sidecar(settings_path).exists()


def test_absent_drops_every_plugin_of_the_marketplace_but_not_others(run, settings_path):
    write(settings_path, json.dumps({
        "extraKnownMarketplaces": {MARKETPLACE: DECLARED},
        "enabledPlugins": {PLUGIN_ID: True, "extra@" + MARKETPLACE: False, "formatter@team-tools": True,
                           "x@" + MARKETPLACE + "-other": True},
        "theme": "dark",
    }, indent=2))
    run(state="absent", fmapi_keys=False, plugin=PLUGIN)
    assert load(settings_path) == {
        "enabledPlugins": {"formatter@team-tools": True, "x@" + MARKETPLACE + "-other": True},
        "theme": "dark",
    }


def test_absent_leaves_plugin_objects_that_were_already_empty(run, settings_path):
    write(settings_path, json.dumps({"extraKnownMarketplaces": {}, "enabledPlugins": {}, "theme": "dark"}))
    result = run(state="absent", fmapi_keys=False, plugin=PLUGIN)
    assert result["changed"] is False
    assert load(settings_path) == {"extraKnownMarketplaces": {}, "enabledPlugins": {}, "theme": "dark"}


def test_plugin_in_check_mode_writes_nothing(run, settings_path, writes):
    write(settings_path, USER_FILE)
    result = run(plugin=PLUGIN, check=True, diff=True)
    assert result["changed"] is True and PLUGIN_ID in result["diff"]["after"]
    assert writes == [] and settings_path.read_text(encoding="utf-8") == USER_FILE


@pytest.mark.parametrize("plugin, message", [
    (dict(PLUGIN, marketplace="a@b"), "is not usable"),
    (dict(PLUGIN, plugin="with space"), "is not usable"),
    ({"marketplace": MARKETPLACE, "plugin": "fmapi-coding-agents"}, "plugin.source is required with state=present"),
])
def test_bad_plugin_values_fail_before_touching_anything(run, settings_path, plugin, message):
    write(settings_path, USER_FILE)
    result = run(plugin=plugin, expect_failure=True)
    assert message in result["msg"]
    assert settings_path.read_text(encoding="utf-8") == USER_FILE


def test_plugin_key_of_the_wrong_type_fails_without_changing_anything(run, settings_path):
    write(settings_path, json.dumps({"enabledPlugins": ["x"]}))
    result = run(plugin=PLUGIN, expect_failure=True)
    assert "'enabledPlugins' is a JSON array" in result["msg"]
    assert load(settings_path) == {"enabledPlugins": ["x"]}
