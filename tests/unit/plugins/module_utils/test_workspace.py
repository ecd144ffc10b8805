# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/_workspace.py: the one home of the workspace rules (values, workspace
URLs, the CLI's configuration file, finding the CLI, keeping tokens out of messages)."""

from __future__ import annotations

import functools
import os
import shlex

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.module_utils.test_databricks_cli import FakeCli

HOST = "https://my-workspace.cloud.databricks.com"
PAT = "dapi0123456789abcdef0123456789abcdef"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.signature-of-test-token"
REFRESH_TOKEN = "doau0123456789ABCDEFabcdef"


# ------------------------------------------------------------------------------------------ profiles

@pytest.mark.parametrize("profile", ["fmapi-claudecode-profile", "DEFAULT", "a_b-1", "x", "--host", "-"])
def test_valid_profiles(profile):
    """A leading '-' is harmless: the CLI takes the word after --profile as its value whatever it looks like
    (checked with the real CLI)."""
    assert ws.validate_profile(profile) == profile


def test_a_profile_name_is_trimmed():
    assert ws.validate_profile("  p1\n") == "p1"


@pytest.mark.parametrize("profile", [
    "", "  ", "a b", "p1; rm -rf ~", "$(id)", "`id`", "p\nq", "p/q", "p.q", "[p]", "p=q", None, 3, "\u00e9",
])
def test_profiles_that_could_inject_or_confuse_are_refused(profile):
    with pytest.raises(ws.ValidationError) as caught:
        ws.validate_profile(profile)
    assert "use only letters, digits, '_' and '-' (for example fmapi-claudecode-profile)" in str(caught.value)


# -------------------------------------------------------------------------------------------- models

@pytest.mark.parametrize("value, expected", [
    ("databricks-claude-opus-4-6", "databricks-claude-opus-4-6"),
    (" my.endpoint_v2 ", "my.endpoint_v2"),
    ("A1", "A1"),
])
def test_valid_model_names(value, expected):
    assert ws.validate_model("opus", value) == expected


@pytest.mark.parametrize("value", ["", None, "-leading-dash", ".hidden", "a b", "a/b", "a;b", "$(id)", "\u00e9", 7])
def test_model_names_that_are_not_endpoint_names_are_refused_naming_the_option(value):
    with pytest.raises(ws.ValidationError, match=r"^sonnet must be a serving endpoint name"):
        ws.validate_model("sonnet", value)


# ----------------------------------------------------------------------------------------------- TTL

@pytest.mark.parametrize("value, minutes", [(1, 1), (60, 60), ("30", 30), (" 45 ", 45)])
def test_ttl_in_range(value, minutes):
    assert ws.validate_ttl(value) == minutes


@pytest.mark.parametrize("value, words", [
    (0, "from 1 to 60 minutes, got 0"),
    (61, "from 1 to 60 minutes, got 61"),
    ("-5", "from 1 to 60 minutes, got -5"),
    ("abc", "whole number of minutes, got 'abc'"),
    ("1.5", "whole number of minutes, got '1.5'"),
    (1.5, "whole number of minutes, got 1.5"),
    (True, "whole number of minutes, got True"),
    (None, "whole number of minutes, got None"),
])
def test_ttl_out_of_range_or_not_whole_minutes_is_refused(value, words):
    with pytest.raises(ws.ValidationError) as caught:
        ws.validate_ttl(value)
    assert words in str(caught.value)


# ------------------------------------------------------------------------------------ workspace URLs

@pytest.mark.parametrize("value, expected", [
    (HOST, HOST),
    (HOST + "/", HOST),
    (HOST + "///", HOST),
    ("  " + HOST + "\n", HOST),
    ("HTTPS://Adb-1.7.Azuredatabricks.net", "https://adb-1.7.azuredatabricks.net"),
    (HOST + ":443/", HOST),
    ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
    ("https://[::1]:8443/", "https://[::1]:8443"),
])
def test_workspace_urls_are_normalized_without_a_note(value, expected):
    assert ws.parse_host(value) == ws.Host(expected, None)
    assert ws.normalize_host(value) == expected


@pytest.mark.parametrize("value, expected, dropped", [
    ("https://dbc-1234abcd-5678.cloud.databricks.com/browse", "https://dbc-1234abcd-5678.cloud.databricks.com",
     "/browse"),
    ("https://dbc-1234abcd-5678.cloud.databricks.com/browse/folders/123?o=1", None, "/browse/folders/123?o=1"),
    ("https://adb-1234567890123456.7.azuredatabricks.net/?o=1234567890123456",
     "https://adb-1234567890123456.7.azuredatabricks.net", "/?o=1234567890123456"),
    (HOST + "/#job/42", HOST, "/#job/42"),
    (HOST + "#setting", HOST, "#setting"),
    (HOST + "/serving-endpoints/anthropic", HOST, "/serving-endpoints/anthropic"),
    (HOST + "/ai-gateway/anthropic/", HOST, "/ai-gateway/anthropic/"),
])
def test_a_url_from_the_browser_or_an_api_base_url_is_reduced_to_the_workspace_with_a_note(value, expected, dropped):
    expected = expected or "https://dbc-1234abcd-5678.cloud.databricks.com"

    host = ws.parse_host(value)

    assert host.url == expected
    assert host.note == "%s was reduced to the workspace URL %s: the part after the host name (%s) is not part of " \
                        "it." % (value, expected, dropped)


@pytest.mark.parametrize("value, words", [
    ("", "host is empty: give the workspace URL, like https://my-workspace.cloud.databricks.com"),
    ("   ", "host is empty"),
    (None, "host is empty"),
    ("http://my-workspace.cloud.databricks.com", "must start with https:// (like https://my-workspace"),
    ("http://127.0.0.1:8080", "must start with https://"),
    ("ftp://my-workspace.cloud.databricks.com", "must start with https://"),
    ("my-workspace.cloud.databricks.com", "must start with https://"),
    ("https://x.example.com --profile other", "contains ' ', which no workspace URL has"),
    ("https://x.cloud.data bricks.com", "contains ' '"),
    ("https://x.example.com\"; touch /tmp/pwned; \"", "contains ' ' '\"' ';'"),
    ("https://x.example.com'", "contains \"'\""),
    ("https://$(id).example.com", "contains '$'"),
    ("https://x.example.com`id`", "contains '`'"),
    ("https://x.example.com;id", "contains ';'"),
    ("https://x.example.com|id", "contains '|'"),
    ("https://x.example.com/?o=1&x=2", "contains '&'"),
    ("https://x.example.com/<script>", "contains '<' '>'"),
    ("https://x.example.com\n#!/bin/sh", "contains control characters (a line break?)"),
    ("https://x.example.com\r\nimport os", "contains control characters"),
    ("https://x.exa\x00mple.com", "contains control characters"),
    ("https://user:pw@my-workspace.cloud.databricks.com",
     "must not contain a user name or password: use https://my-workspace.cloud.databricks.com"),
    ("https://token@my-workspace.cloud.databricks.com", "must not contain a user name or password"),
    ("https://x.example.com:99999", "has an invalid port 99999"),
    ("https://x.example.com:0", "has an invalid port 0"),
    ("https://x.example.com:123456", "after https:// must come a host name with an optional :port"),
    ("https://x.example.com:https", "after https:// must come a host name"),
    ("https://", "after https:// must come a host name"),
    ("https:///path", "after https:// must come a host name"),
    ("https://-bad.example.com", "after https:// must come a host name"),
    ("https://under_score.example.com", "after https:// must come a host name"),
])
def test_hosts_that_no_workspace_url_looks_like_are_refused_saying_what_to_fix(value, words):
    with pytest.raises(ws.ValidationError) as caught:
        ws.parse_host(value)
    assert words in str(caught.value)


def test_a_refused_host_is_named_in_the_message():
    with pytest.raises(ws.ValidationError) as caught:
        ws.normalize_host("https://x.example.com;id")
    assert str(caught.value).startswith("host 'https://x.example.com;id' contains ';'")


def test_same_host_ignores_case_trailing_slash_path_and_default_port():
    assert ws.same_host(HOST, HOST.upper().replace("HTTPS", "https") + "/")
    assert ws.same_host(HOST + ":443", HOST)
    assert ws.same_host(HOST + "/browse", HOST)
    assert not ws.same_host(HOST, "https://other.cloud.databricks.com")
    assert not ws.same_host(HOST, HOST + ":8443")
    assert not ws.same_host(None, HOST) and not ws.same_host(HOST, "")


def test_same_host_compares_invalid_urls_as_text():
    assert ws.same_host("http://127.0.0.1:8080/", "HTTP://127.0.0.1:8080")
    assert not ws.same_host("http://127.0.0.1:8080", "http://127.0.0.1:8081")


# -------------------------------------------------------------------------------------- login command

def test_login_command_is_exact_for_plain_values():
    assert ws.login_command("p1", HOST) == "databricks auth login --host %s --profile p1" % HOST
    assert ws.login_command("p1") == "databricks auth login --profile p1"


@pytest.mark.parametrize("profile, host", [
    ("p1; rm -rf ~", "https://x/$(id)"),
    ("it's", "https://x.example.com`id`"),
    ("a\nb", "https://x.example.com && echo pwned"),
])
def test_login_command_quotes_hostile_values_so_a_shell_reads_them_as_single_words(profile, host):
    command = ws.login_command(profile, host)
    assert shlex.split(command) == ["databricks", "auth", "login", "--host", host, "--profile", profile]


# ------------------------------------------------------------------------------------ masking tokens

@pytest.mark.parametrize("secret", [
    JWT,
    PAT,
    PAT + "-2",
    REFRESH_TOKEN,
])
def test_token_shaped_values_are_masked_wherever_they_are(secret):
    text = "error for %s: denied (%s)" % (secret, secret)
    masked = ws.mask_tokens(text)
    assert masked == "error for ********: denied (********)"
    assert secret in ws.token_shaped_values(text)


def test_whatever_follows_bearer_is_masked_in_any_case():
    assert ws.mask_tokens("Authorization: Bearer abc.def-ghi, next") == "Authorization: Bearer ********, next"
    assert ws.mask_tokens("authorization: BEARER opaque-value") == "authorization: BEARER ********"


def test_given_secrets_are_masked_and_plain_words_are_not():
    text = "password s3cret-value, dapinot, dapi123, eyJx.y.z, doau-short"
    assert ws.mask_tokens(text, ["s3cret-value", ""]) == "password ********, dapinot, dapi123, eyJx.y.z, doau-short"
    assert ws.token_shaped_values(text) == []


def test_mask_tokens_of_nothing_and_of_other_types():
    assert ws.mask_tokens(None) == ""
    assert ws.mask_tokens(42) == "42"
    assert ws.mask_tokens(PAT, replacement="<hidden>") == "<hidden>"


# --------------------------------------------------------------------------------------- environment

def test_clean_environment_drops_every_overriding_databricks_variable():
    environ = {
        "DATABRICKS_TOKEN": "dapi", "DATABRICKS_HOST": "https://junk", "DATABRICKS_CONFIG_PROFILE": "junk",
        "DATABRICKS_CLIENT_ID": "id", "DATABRICKS_CLIENT_SECRET": "secret", "DATABRICKS_AUTH_TYPE": "pat",
        "DATABRICKS_ACCOUNT_ID": "a", "DATABRICKS_OUTPUT_FORMAT": "text", "DATABRICKS_SOMETHING_NEW": "x",
        "DATABRICKS_AUTH_STORAGE": "plaintext", "DATABRICKS_CONFIG_FILE": "/etc/dbcfg",
        "HOME": "/home/dev", "PATH": "/usr/bin", "BROWSER": "firefox", "SSL_CERT_FILE": "/ca.pem",
    }

    assert ws.clean_environment(environ) == {
        "DATABRICKS_AUTH_STORAGE": "plaintext", "DATABRICKS_CONFIG_FILE": "/etc/dbcfg",
        "HOME": "/home/dev", "PATH": "/usr/bin", "BROWSER": "firefox", "SSL_CERT_FILE": "/ca.pem",
    }
    assert environ["DATABRICKS_TOKEN"] == "dapi", "the input is not modified"


# ------------------------------------------------------------------------------- configuration file

@pytest.mark.parametrize("environ, expected", [
    ({"HOME": "/home/dev"}, "/home/dev/.databrickscfg"),
    ({"HOME": "/home/dev", "DATABRICKS_CONFIG_FILE": ""}, "/home/dev/.databrickscfg"),
    ({"HOME": "/home/dev", "DATABRICKS_CONFIG_FILE": "~/cfg/db.ini"}, "/home/dev/cfg/db.ini"),
    ({"HOME": "/home/dev", "DATABRICKS_CONFIG_FILE": "/etc/databricks/../databricks.cfg"}, "/etc/databricks.cfg"),
])
def test_config_file_path_follows_databricks_config_file(environ, expected):
    assert ws.config_file_path(environ) == expected


def test_config_file_path_without_home_in_the_environment_uses_the_users_home(monkeypatch):
    monkeypatch.setenv("HOME", "/home/from-os")
    assert ws.config_file_path({}) == "/home/from-os/.databrickscfg"


def test_config_file_path_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ws.config_file_path({"DATABRICKS_CONFIG_FILE": "db.cfg"}) == str(tmp_path / "db.cfg")


CONFIG = """; The profile defined in the DEFAULT section is to be used as a fallback
[DEFAULT]
host = https://default.example.com

[p1]
host      = %s/
auth_type = databricks-cli ; an inline comment after a space
token     = "dapi-quoted"

[nohost]
auth_type = databricks-cli

[p1]
cluster_id = 0123
host = %s
""" % ("https://first.example.com", HOST)


def test_read_profile_reads_as_the_cli_does(tmp_path):
    config = tmp_path / ".databrickscfg"
    config.write_text(CONFIG)

    info = ws.read_profile(str(config), "p1")

    # Sections of one name are merged, the last of equal keys wins, one pair of quotes is dropped.
    assert info == ws.ProfileInfo(True, HOST, {"host": HOST, "auth_type": "databricks-cli",
                                               "token": "dapi-quoted", "cluster_id": "0123"})
    assert ws.read_profile(str(config), "nohost") == ws.ProfileInfo(True, None, {"auth_type": "databricks-cli"})
    assert ws.read_profile(str(config), "DEFAULT").host == "https://default.example.com"
    assert ws.read_profile(str(config), "P1") == ws.ProfileInfo(False), "profile names are case-sensitive"
    assert ws.read_profile(str(tmp_path / "missing"), "p1") == ws.ProfileInfo(False)


def test_keys_before_the_first_section_are_the_default_profile(tmp_path):
    """As the CLI reads it: `databricks auth profiles` lists DEFAULT with this host."""
    config = tmp_path / ".databrickscfg"
    config.write_text("host = https://top.example.com\n\n[p1]\nhost = %s\n" % HOST)

    assert ws.read_profile(str(config), "DEFAULT") == ws.ProfileInfo(True, "https://top.example.com",
                                                                     {"host": "https://top.example.com"})
    assert ws.read_profile(str(config), "p1").host == HOST


def test_a_blank_host_is_no_host(tmp_path):
    config = tmp_path / "cfg"
    config.write_text("[p1]\nhost =   \n")
    assert ws.read_profile(str(config), "p1").host is None


@pytest.mark.parametrize("content, words", [
    (b"[p1\nhost = x\n", "line 1 opens a [section] header but does not close it"),
    (b"[p1]\nthis line is not ini\n", "line 2 is neither 'key = value'"),
    (b"[p1]\nhost = \xff\n", "is not UTF-8 text"),
])
def test_a_config_file_the_cli_cannot_read_is_a_problem_not_a_missing_profile(tmp_path, content, words):
    config = tmp_path / ".databrickscfg"
    config.write_bytes(content)

    info = ws.read_profile(str(config), "p1")

    assert info.exists is None and info.host is None
    assert str(config) in info.problem and words in info.problem


def test_a_config_file_that_cannot_be_opened_is_a_problem_not_an_exception(tmp_path):
    directory = tmp_path / ".databrickscfg"
    directory.mkdir()

    info = ws.read_profile(str(directory), "p1")

    assert info.exists is None
    assert info.problem == "%s cannot be read: Is a directory" % directory


# ------------------------------------------------------------------------------------ versions

@pytest.mark.parametrize("text, version", [
    ("Databricks CLI v1.12.1\n", "1.12.1"),
    ("Databricks CLI v0.296.0\n", "0.296.0"),
    ("Databricks CLI v0.300.0-dev+abc\n", "0.300.0-dev+abc"),
    ("Warn: something\nDatabricks CLI v0.297.1\n", "0.297.1"),
    ("Version 0.18.0\n", None),
    ("", None),
    (None, None),
])
def test_cli_version_parsing_tells_the_go_cli_from_the_legacy_one(text, version):
    assert ws.parse_cli_version(text) == version


def test_version_tuples_compare():
    assert ws.version_tuple("0.295.0") < (0, 296, 0) <= ws.version_tuple("1.12.1")
    assert ws.version_tuple("3.8") == (3, 8, 0)
    assert ws.version_tuple("v0.300.0-dev+abc") == (0, 300, 0)
    assert ws.version_tuple(None) == () and ws.version_tuple("dev") == ()


@pytest.mark.parametrize("version, expected", [("0.296.0", True), ("1.12.1", True), ("0.295.9", False),
                                               (None, False), ("", False)])
def test_version_at_least_the_minimum_cli(version, expected):
    assert ws.version_at_least(version, ws.MIN_CLI_VERSION) is expected


def test_the_python_requirements_name_the_minimum_versions():
    assert ws.PYTHON_REQUIREMENTS == ("databricks-sdk>=" + ws.MIN_SDK_VERSION, "jmespath>=" + ws.MIN_JMESPATH_VERSION,
                                      "tomlkit>=" + ws.MIN_TOMLKIT_VERSION)


def test_cli_version_runs_the_cli_without_overriding_variables(tmp_path):
    fake_cli = FakeCli(tmp_path / "cli")

    assert ws.cli_version(fake_cli.path, fake_cli.environ(DATABRICKS_HOST="https://junk.example.com")) == "1.12.1"
    call = fake_cli.calls("version")[0]
    assert call["argv"] == ["--version"] and "DATABRICKS_HOST" not in call["env"]
    fake_cli.script(version=[{"stdout": "Version 0.18.0\n"}])
    assert ws.cli_version(fake_cli.path, fake_cli.environ()) is None
    fake_cli.script(version=[{"rc": 1, "stdout": "Databricks CLI v1.12.1\n"}])
    assert ws.cli_version(fake_cli.path, fake_cli.environ()) is None
    assert ws.cli_version(str(tmp_path / "missing"), fake_cli.environ()) is None


def test_cli_version_gives_up_on_a_cli_that_hangs(tmp_path, monkeypatch):
    monkeypatch.setattr(ws, "CLI_VERSION_TIMEOUT_SECONDS", 1)
    hanging = executable(str(tmp_path / "databricks"), "#!/bin/sh\nexec sleep 30\n")
    assert ws.cli_version(hanging, {"PATH": "/usr/bin:/bin"}) is None


# ------------------------------------------------------------------------------------ finding the CLI

def executable(path, text="#!/bin/sh\n"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o755)
    return path


class Versions:
    """A fake ``version_of``: the version of each path (None for a legacy CLI), and the paths it was asked about."""

    def __init__(self, versions):
        self.versions = versions
        self.asked = []

    def __call__(self, path):
        self.asked.append(path)
        return self.versions.get(path)


@pytest.fixture(name="search_dirs")
def search_dirs_fixture(tmp_path, monkeypatch):
    """The usual install directories, moved below tmp_path (so that this machine's own CLI never counts)."""
    dirs = ("~/.local/bin", str(tmp_path / "opt-homebrew-bin"), str(tmp_path / "usr-local-bin"))
    monkeypatch.setattr(ws, "cli_candidates", functools.partial(ws.cli_candidates, search_dirs=dirs))
    return dirs


def test_cli_candidates_are_path_then_the_usual_directories_each_once():
    assert ws.cli_candidates({"PATH": "/a:/b::/a", "HOME": "/h"}, "tool", ("~/.local/bin", "/b", "/c")) == [
        ("/a/tool", True), ("/b/tool", True), ("/h/.local/bin/tool", False), ("/c/tool", False)]


def test_cli_candidates_skip_home_directories_without_home():
    assert ws.cli_candidates({"PATH": "/a"}, "tool", ("~/.local/bin",)) == [("/a/tool", True)]


def test_the_default_search_covers_the_usual_install_places():
    candidates = [path for path, _on_path in ws.cli_candidates({"PATH": "", "HOME": "/home/dev"})]
    assert candidates == ["/home/dev/.local/bin/databricks", "/opt/homebrew/bin/databricks",
                          "/usr/local/bin/databricks", "/home/dev/bin/databricks"]


def test_find_cli_skips_a_legacy_cli_on_path_and_finds_the_real_one_in_the_usual_directories(tmp_path, search_dirs):
    home = str(tmp_path / "home")
    local = executable(os.path.join(home, ".local", "bin", "databricks"))
    legacy = executable(str(tmp_path / "venv" / "bin" / "databricks"))
    versions = Versions({legacy: None, local: "1.12.1"})
    environ = {"PATH": "%s:%s" % (tmp_path / "empty", tmp_path / "venv" / "bin"), "HOME": home}

    found = ws.find_cli(environ, version_of=versions)

    assert found == ws.FoundCli(local, "1.12.1", False, (legacy,), None)
    assert found.version_ok
    assert versions.asked == [legacy, local]


def test_find_cli_takes_the_first_on_path(tmp_path, search_dirs):
    first = executable(str(tmp_path / "a" / "databricks"))
    executable(str(tmp_path / "b" / "databricks"))
    environ = {"PATH": "%s:%s" % (tmp_path / "a", tmp_path / "b"), "HOME": str(tmp_path)}

    found = ws.find_cli(environ, version_of=Versions({first: "0.250.0"}))

    assert (found.path, found.version, found.on_path, found.skipped) == (first, "0.250.0", True, ())
    assert not found.version_ok, "older than MIN_CLI_VERSION"


def test_find_cli_keeps_the_symlink_path(tmp_path, search_dirs):
    target = executable(str(tmp_path / "Cellar" / "databricks" / "1.12.1" / "bin" / "databricks"))
    link_dir = tmp_path / "brew-bin"
    link_dir.mkdir()
    (link_dir / "databricks").symlink_to(target)

    found = ws.find_cli({"PATH": str(link_dir), "HOME": str(tmp_path)}, version_of=lambda path: "1.12.1")

    assert found.path == str(link_dir / "databricks")


def test_find_cli_ignores_files_that_are_not_executable(tmp_path, search_dirs):
    plain = tmp_path / "bin" / "databricks"
    plain.parent.mkdir()
    plain.write_text("not a program")
    versions = Versions({})

    found = ws.find_cli({"PATH": str(plain.parent), "HOME": str(tmp_path / "nohome")}, version_of=versions)

    assert found.path is None and versions.asked == []


def test_find_cli_explains_what_it_did_not_find(tmp_path, search_dirs):
    legacy = executable(str(tmp_path / "venv" / "databricks"))

    found = ws.find_cli({"PATH": str(tmp_path / "venv"), "HOME": str(tmp_path)}, version_of=Versions({}))

    assert (found.path, found.version, found.skipped) == (None, None, (legacy,))
    assert found.problem.startswith("The Databricks CLI was not found on PATH or in ~/.local/bin, /opt/homebrew/bin,")
    assert "Skipped, as they are not the Databricks CLI: %s." % legacy in found.problem
    assert found.problem.endswith(ws.CLI_INSTALL_HINT)
    assert not found.version_ok


def test_find_cli_given_a_path(tmp_path, search_dirs):
    cli = executable(str(tmp_path / "tools" / "databricks-1.12"))
    plain = tmp_path / "tools" / "plain"
    plain.write_text("x")

    found = ws.find_cli({"PATH": "/usr/bin", "HOME": str(tmp_path)}, cli, Versions({cli: "1.12.1"}))
    assert found == ws.FoundCli(cli, "1.12.1", False)

    found = ws.find_cli({"PATH": str(tmp_path / "tools")}, cli, Versions({cli: "1.12.1"}))
    assert found.on_path is True

    missing = ws.find_cli({}, str(tmp_path / "missing"), Versions({}))
    assert missing.path is None and missing.problem.startswith("%s does not exist or is not executable."
                                                               % (tmp_path / "missing"))
    assert ws.find_cli({}, str(plain), Versions({})).problem.startswith("%s does not exist or is not executable" % plain)


def test_find_cli_given_a_path_with_a_tilde(tmp_path, search_dirs):
    cli = executable(str(tmp_path / "bin" / "databricks"))
    found = ws.find_cli({"HOME": str(tmp_path), "PATH": ""}, "~/bin/databricks", Versions({cli: "1.12.1"}))
    assert found.path == cli


def test_find_cli_given_a_legacy_cli_refuses_it(tmp_path, search_dirs):
    legacy = executable(str(tmp_path / "venv" / "databricks"))

    found = ws.find_cli({"PATH": ""}, legacy, Versions({}))

    assert (found.path, found.skipped) == (None, (legacy,))
    assert "is not the Databricks CLI" in found.problem and "legacy Python databricks-cli" in found.problem


def test_find_cli_given_a_name_looks_on_path_and_in_the_usual_directories(tmp_path, search_dirs):
    home = tmp_path / "home"
    on_path = executable(str(tmp_path / "bin" / "databricks-1.12"))
    in_local = executable(str(home / ".local" / "bin" / "databricks-nightly"))
    versions = Versions({on_path: "1.12.1", in_local: "1.13.0"})
    environ = {"PATH": str(tmp_path / "bin"), "HOME": str(home)}

    assert ws.find_cli(environ, "databricks-1.12", versions).path == on_path
    found = ws.find_cli(environ, "databricks-nightly", versions)
    assert (found.path, found.on_path) == (in_local, False)
    unknown = ws.find_cli(environ, "no-such-cli", versions)
    assert unknown.path is None
    assert unknown.problem.startswith("no-such-cli was not found on PATH or in ~/.local/bin")


def test_find_cli_given_the_plain_name_searches_like_without_one(tmp_path, search_dirs):
    legacy = executable(str(tmp_path / "venv" / "databricks"))
    real = executable(str(tmp_path / "home" / ".local" / "bin" / "databricks"))
    environ = {"PATH": str(tmp_path / "venv"), "HOME": str(tmp_path / "home")}

    found = ws.find_cli(environ, "databricks", Versions({real: "1.12.1"}))

    assert found.path == real and legacy not in (found.path,)


def test_find_cli_asks_the_real_cli_for_its_version_by_default(tmp_path, search_dirs):
    fake_cli = FakeCli(tmp_path / "cli")
    environ = fake_cli.environ(PATH=fake_cli.directory)

    found = ws.find_cli(environ)

    assert (found.path, found.version, found.on_path) == (fake_cli.path, "1.12.1", True)
    assert [call["argv"] for call in fake_cli.calls()] == [["--version"]]


def test_is_executable_file(tmp_path):
    assert ws.is_executable_file(executable(str(tmp_path / "x")))
    assert not ws.is_executable_file(str(tmp_path))
    assert not ws.is_executable_file(str(tmp_path / "missing"))
