# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the databricks_profile module: the module run in-process on files in a temp directory.

tests/functional/test_databricks_profile.py checks that the real Databricks CLI logs in with what it writes.
"""

from __future__ import annotations

import os
import stat

import pytest


from ansible_collections.fmapi.coding_agents.plugins.module_utils import _ini as ini
from ansible_collections.fmapi.coding_agents.plugins.modules import databricks_profile
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main, use_home

PROFILE = "fmapi-claudecode-profile"
HOST = "https://example.cloud.databricks.com"
PAT = "dapi0123456789abcdef0123456789abcd"
OTHER_PAT = "dapiffffeeeeddddccccbbbbaaaa9999"
CLIENT_SECRET = "dose0123456789secretsecret"

# A file as the Databricks CLI writes it, with a hand-written part (comments, `key=value`, `key: value`).
CLI_FILE = """; The profile defined in the DEFAULT section is to be used as a fallback when no profile is explicitly specified.
[DEFAULT]

# Production: do not touch
[prod]
host  = https://prod.cloud.databricks.com
token = %s

[dev]
host=https://dev.cloud.databricks.com
cluster_id: 0123-456789-abcdefgh

[__settings__]
default_profile = prod
""" % OTHER_PAT

NEW_SECTION = """
[%s]
host      = %s
auth_type = databricks-cli
""" % (PROFILE, HOST)


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    return use_home(tmp_path, monkeypatch)


@pytest.fixture(name="cfg")
def cfg_fixture(home):
    return home / ".databrickscfg"


@pytest.fixture(name="run")
def run_fixture(capsys, cfg):
    """Run the module with the standard present arguments updated by ``args``; return its result."""

    def run(check=False, diff=False, expect_failure=False, **args):
        module_args = {"path": str(cfg), "host": HOST}
        if args.get("state") == "absent":
            del module_args["host"]
        module_args.update(args)
        return run_main(databricks_profile.main, capsys, module_args, check, diff, expect_failure)

    return run


def write(path, content, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.chmod(path, mode)


def read(path):
    return path.read_bytes().decode("utf-8")


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------ creating

def test_missing_file_is_created_like_the_cli_creates_it(run, cfg):
    result = run()
    assert result["changed"] is True and result["created"] is True
    assert read(cfg) == ini.CLI_DEFAULT_COMMENT + "\n[DEFAULT]\n" + NEW_SECTION
    assert file_mode(cfg) == 0o600
    assert result["profile"] == PROFILE and result["host"] == HOST and result["path"] == str(cfg)
    assert result["previous_host"] is None and result["removed_keys"] == []


def test_new_profile_is_appended_and_the_rest_stays_byte_for_byte(run, cfg):
    write(cfg, CLI_FILE)
    result = run()
    assert result["created"] is True
    assert read(cfg) == CLI_FILE + NEW_SECTION


def test_file_without_final_newline_gets_the_section_on_its_own_lines(run, cfg):
    write(cfg, "[dev]\nhost = https://dev.cloud.databricks.com")
    run()
    assert read(cfg) == "[dev]\nhost = https://dev.cloud.databricks.com\n" + NEW_SECTION


def test_windows_line_endings_are_kept_and_used(run, cfg):
    write(cfg, "[dev]\r\nhost = https://dev.cloud.databricks.com\r\n")
    run()
    assert read(cfg) == "[dev]\r\nhost = https://dev.cloud.databricks.com\r\n" + NEW_SECTION.replace("\n", "\r\n")


def test_missing_directory_is_created_privately(run, home):
    path = home / "config" / "databricks" / "cfg"
    run(path=str(path))
    assert file_mode(path.parent) == 0o700 and file_mode(path) == 0o600


def test_tilde_path_is_expanded(run, cfg):
    result = run(path="~/.databrickscfg")
    assert result["path"] == str(cfg) and cfg.exists()


def test_host_is_normalized(run, cfg):
    result = run(host=HOST + "//")
    assert result["host"] == HOST
    assert "host      = %s\n" % HOST in read(cfg)


def test_default_path_is_the_clis_default_file(run, cfg):
    result = run(path=None)
    assert result["path"] == str(cfg)
    assert "[%s]" % PROFILE in read(cfg)


def test_default_path_follows_databricks_config_file(run, cfg, tmp_path, monkeypatch):
    elsewhere = tmp_path / "work" / "databricks.cfg"
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(elsewhere))

    result = run(path=None)

    assert result["path"] == str(elsewhere)
    assert "[%s]" % PROFILE in read(elsewhere)
    assert not cfg.exists()
    # What the CLI reads is what a second run compares with.
    assert run(path=None)["changed"] is False


def test_an_explicit_path_wins_over_databricks_config_file(run, cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "unused.cfg"))
    assert run()["path"] == str(cfg)
    assert cfg.exists() and not (tmp_path / "unused.cfg").exists()


@pytest.mark.parametrize("pasted", [
    HOST + "/browse/folders/1234?o=5678",
    HOST + "/?o=1",
    HOST + "/serving-endpoints/anthropic",
    HOST + "/#workspace/Users",
])
def test_a_url_copied_from_the_browser_is_reduced_to_the_workspace(run, cfg, pasted):
    result = run(host=pasted)
    assert result["host"] == HOST
    assert "host      = %s\n" % HOST in read(cfg)


# ------------------------------------------------------------ updating

def test_other_host_is_replaced_in_place_and_reported(run, cfg):
    write(cfg, CLI_FILE + """
[%s]
host         = https://old.cloud.databricks.com/
account_id   = 0d4e6f8a
workspace_id = 1234567890123456
auth_type    = databricks-cli
""" % PROFILE)
    result = run()
    assert result["changed"] is True and result["created"] is False
    assert result["previous_host"] == "https://old.cloud.databricks.com/"
    assert read(cfg) == CLI_FILE + """
[%s]
host         = %s
account_id   = 0d4e6f8a
workspace_id = 1234567890123456
auth_type    = databricks-cli
""" % (PROFILE, HOST)


@pytest.mark.parametrize("existing", [HOST + "/", "https://EXAMPLE.cloud.databricks.com", HOST + " ; a comment",
                                      '"%s"' % HOST])
def test_same_host_written_differently_is_not_a_change(run, cfg, existing):
    content = "[%s]\nhost = %s\nauth_type = databricks-cli\n" % (PROFILE, existing)
    write(cfg, content)
    os.utime(cfg, (1_000_000_000, 1_000_000_000))
    result = run()
    assert result["changed"] is False and result["previous_host"] is None
    assert read(cfg) == content
    assert os.stat(cfg).st_mtime == 1_000_000_000


def test_second_run_changes_nothing(run, cfg):
    write(cfg, CLI_FILE)
    run()
    content = read(cfg)
    result = run()
    assert result["changed"] is False and result["created"] is False
    assert read(cfg) == content


def test_other_auth_type_is_replaced(run, cfg):
    write(cfg, "[%s]\nhost = %s\nauth_type = pat\ntoken = %s\n" % (PROFILE, HOST, PAT))
    result = run()
    assert result["changed"] is True and result["removed_keys"] == ["token"]
    assert read(cfg) == "[%s]\nhost = %s\nauth_type = databricks-cli\n" % (PROFILE, HOST)


def test_missing_keys_follow_the_layout_of_the_section(run, cfg):
    write(cfg, "[%s]\nworkspace_id = 1234567890123456\naccount_id   = 0d4e6f8a\n\n[dev]\nhost=x\n" % PROFILE)
    run()
    assert read(cfg) == ("[%s]\nworkspace_id = 1234567890123456\naccount_id   = 0d4e6f8a\nhost         = %s\n"
                         "auth_type    = databricks-cli\n\n[dev]\nhost=x\n" % (PROFILE, HOST))


def test_missing_keys_copy_unaligned_spacing(run, cfg):
    write(cfg, "[%s]\n  cluster_id: abc\n" % PROFILE)
    run()
    assert read(cfg) == "[%s]\n  cluster_id: abc\n  host: %s\n  auth_type: databricks-cli\n" % (PROFILE, HOST)


def test_empty_section_gets_plain_keys(run, cfg):
    write(cfg, "[%s]\n\n[dev]\nhost = x\n" % PROFILE)
    run()
    assert read(cfg) == "[%s]\nhost = %s\nauth_type = databricks-cli\n\n[dev]\nhost = x\n" % (PROFILE, HOST)


def test_conflicting_credentials_are_removed_by_name_only(run, cfg):
    write(cfg, CLI_FILE + """
[{profile}]
host          = {host}
token         = {pat}
client_id     = 7f1c0e52-service-principal
client_secret = {secret}
username      = dev@example.com
password      = hunter2-password
account_id    = 0d4e6f8a
workspace_id  = 1234567890123456
auth_type     = databricks-cli
""".format(profile=PROFILE, host=HOST, pat=PAT, secret=CLIENT_SECRET))
    result = run(diff=True)
    assert result["removed_keys"] == ["token", "username", "password", "client_id", "client_secret"]
    assert read(cfg) == CLI_FILE + """
[{profile}]
host          = {host}
account_id    = 0d4e6f8a
workspace_id  = 1234567890123456
auth_type     = databricks-cli
""".format(profile=PROFILE, host=HOST)
    for secret in (PAT, CLIENT_SECRET, "hunter2-password", OTHER_PAT):
        assert secret not in result["_stdout"]


def test_credentials_of_other_profiles_stay(run, cfg):
    write(cfg, CLI_FILE)
    run()
    assert "token = %s\n" % OTHER_PAT in read(cfg)


def test_keys_the_cli_adds_stay(run, cfg):
    content = ("[%s]\nhost = %s\naccount_id = a\nworkspace_id = 1\ncluster_id = c\nscopes = all-apis\n"
               "auth_type = databricks-cli\n" % (PROFILE, HOST))
    write(cfg, content)
    assert run()["changed"] is False
    assert read(cfg) == content


def test_duplicate_sections_are_all_brought_in_line(run, cfg):
    write(cfg, "[%s]\nhost = https://a.example.com\ntoken = %s\n\n[dev]\nhost = x\n\n[%s]\nhost = https://b.example.com\n"
          % (PROFILE, PAT, PROFILE))
    result = run()
    assert result["previous_host"] == "https://b.example.com"
    assert read(cfg) == ("[%s]\nhost = %s\n\n[dev]\nhost = x\n\n[%s]\nhost = %s\nauth_type = databricks-cli\n"
                         % (PROFILE, HOST, PROFILE, HOST))


def test_default_and_settings_sections_are_left_alone(run, cfg):
    content = "host = https://default.example.com\ntoken = %s\n\n[__settings__]\nauth_storage = plaintext\n" % PAT
    write(cfg, content)
    run()
    assert read(cfg) == content + NEW_SECTION


def test_mode_is_private_after_a_write(run, cfg):
    write(cfg, CLI_FILE, mode=0o644)
    run()
    assert file_mode(cfg) == 0o600


def test_symlinked_file_is_written_through(run, cfg, home):
    target = home / "dotfiles" / "databrickscfg"
    write(target, CLI_FILE)
    cfg.symlink_to(target)
    run()
    assert cfg.is_symlink() and os.readlink(cfg) == str(target)
    assert read(target) == CLI_FILE + NEW_SECTION


def test_backup_copy_is_private(run, cfg):
    write(cfg, CLI_FILE, mode=0o644)
    result = run(backup=True)
    assert open(result["backup_file"], encoding="utf-8").read() == CLI_FILE
    assert file_mode(result["backup_file"]) == 0o600


# ------------------------------------------------------------ check mode and diff

def test_check_mode_writes_nothing(run, cfg):
    write(cfg, CLI_FILE)
    result = run(check=True)
    assert result["changed"] is True and result["created"] is True
    assert read(cfg) == CLI_FILE


def test_check_mode_on_a_missing_file_creates_nothing(run, cfg):
    assert run(check=True)["changed"] is True
    assert not cfg.exists()


def test_diff_masks_every_credential(run, cfg):
    write(cfg, CLI_FILE + "\n[%s]\nhost = https://old.example.com\ntoken = %s\n" % (PROFILE, PAT))
    result = run(diff=True)
    diff = result["diff"]
    assert "token = ********" in diff["before"]
    assert "token = ********" in diff["after"]  # the prod profile's
    assert PAT not in result["_stdout"] and OTHER_PAT not in result["_stdout"]
    assert "host = https://old.example.com" in diff["before"] and "host = %s" % HOST in diff["after"]
    assert diff["before_header"] == diff["after_header"] == str(cfg)


def test_diff_of_a_new_file(run, cfg):
    result = run(diff=True)
    assert result["diff"]["before"] == ""
    assert result["diff"]["before_header"] == "%s (absent)" % cfg
    assert result["diff"]["after"] == read(cfg)


def test_no_diff_without_change(run, cfg):
    run()
    assert "diff" not in run(diff=True)


# ------------------------------------------------------------ validation

@pytest.mark.parametrize("profile", ["has space", "a.b", "ünï", "", "DEFAULT", "__settings__"])
def test_bad_profile_names_are_refused(run, cfg, profile):
    result = run(profile=profile, expect_failure=True)
    assert "profile" in result["msg"]
    assert not cfg.exists()


@pytest.mark.parametrize("host, message", [
    ("http://example.cloud.databricks.com", "must start with https://"),
    ("http://127.0.0.1:8080", "must start with https://"),
    ("example.cloud.databricks.com", "must start with https://"),
    ("https://user:secret@example.cloud.databricks.com", "must not contain a user name"),
    (HOST + "\n[evil]", "control characters"),
    ("'%s'" % HOST, "which no workspace URL has"),
])
def test_bad_hosts_are_refused(run, cfg, host, message):
    result = run(host=host, expect_failure=True)
    assert message in result["msg"]
    assert not cfg.exists()


def test_plain_http_cannot_be_allowed_any_more(run, cfg):
    result = run(host="http://127.0.0.1:8080/", allow_loopback_http=True, expect_failure=True)
    assert "allow_loopback_http" in result["msg"]
    assert not cfg.exists()


def test_host_is_required_for_present(run):
    result = run(host=None, expect_failure=True)
    assert "host" in result["msg"]


@pytest.mark.parametrize("bad_line", ["just some words", "[unclosed", "= value"])
def test_lines_the_cli_cannot_read_fail_without_change(run, cfg, bad_line):
    content = CLI_FILE + bad_line + "\n"
    write(cfg, content)
    result = run(expect_failure=True)
    assert "line 15" in result["msg"] and "Nothing was changed" in result["msg"]
    assert read(cfg) == content


def test_non_utf8_file_fails_without_change(run, cfg):
    write(cfg, b"[dev]\nhost = \xff\n")
    result = run(expect_failure=True)
    assert "not UTF-8" in result["msg"]
    assert cfg.read_bytes() == b"[dev]\nhost = \xff\n"


def test_directory_path_is_refused(run, home):
    result = run(path=str(home), expect_failure=True)
    assert "is a directory" in result["msg"]


# ------------------------------------------------------------ removing

def test_absent_removes_the_section_with_its_comment(run, cfg):
    write(cfg, CLI_FILE.replace("[__settings__]", "; FMAPI\n[%s]\nhost = %s\ntoken = %s\n\n[__settings__]"
                                % (PROFILE, HOST, PAT)))
    result = run(state="absent")
    assert result["changed"] is True and result["removed"] is True and result["host"] is None
    assert read(cfg) == CLI_FILE


def test_absent_of_the_last_section_leaves_no_trailing_blank_lines(run, cfg):
    write(cfg, CLI_FILE)
    run()
    run(state="absent")
    assert read(cfg) == CLI_FILE


def test_absent_keeps_the_comment_of_the_next_section(run, cfg):
    write(cfg, "[%s]\nhost = %s\n\n# about dev\n[dev]\nhost = x\n" % (PROFILE, HOST))
    run(state="absent")
    assert read(cfg) == "# about dev\n[dev]\nhost = x\n"


def test_absent_without_the_profile_changes_nothing(run, cfg):
    write(cfg, CLI_FILE)
    result = run(state="absent")
    assert result["changed"] is False and result["removed"] is False
    assert read(cfg) == CLI_FILE


def test_absent_without_a_file_creates_none(run, cfg):
    assert run(state="absent")["changed"] is False
    assert not cfg.exists()


def test_absent_keeps_a_file_without_profiles(run, cfg):
    run()
    run(state="absent")
    assert read(cfg) == ini.CLI_DEFAULT_COMMENT + "\n[DEFAULT]\n"


def test_absent_in_check_mode_keeps_the_section(run, cfg):
    run()
    content = read(cfg)
    assert run(state="absent", check=True)["changed"] is True
    assert read(cfg) == content


def test_absent_warns_about_a_default_profile_naming_it(run, cfg):
    write(cfg, "[%s]\nhost = %s\n\n[__settings__]\ndefault_profile = %s\n" % (PROFILE, HOST, PROFILE))
    result = run(state="absent")
    assert read(cfg) == "[__settings__]\ndefault_profile = %s\n" % PROFILE
    assert any("default_profile" in warning for warning in result["_warnings"])


# ------------------------------------------------------------ the parser

def test_inline_comments_need_a_space_like_in_the_cli():
    document = ini.IniDocument("[p]\npassword = a#b ;c\ntoken = x ; y # z\nhost = #notacomment\n")
    assert document.get("p", "password") == "a#b"
    # go-ini looks for " #" first and only then for " ;".
    assert document.get("p", "token") == "x ; y"
    assert document.get("p", "host") == "#notacomment"


def test_keys_before_any_header_are_not_in_a_profile():
    document = ini.IniDocument("host = h\n[p]\nhost = q\n")
    assert document.section_names() == ["p"] and document.get("p", "host") == "q"


def test_last_of_equal_keys_wins():
    assert ini.IniDocument("[p]\nhost = a\nhost = b\n").get("p", "host") == "b"
