"""Bad input and hostile files, given to the real setup playbook on a laptop (a throwaway HOME).

Bad input: each value, config file and config URL a person can get wrong stops the setup with a
message that says what to fix, before anything is installed or written on the laptop. Hostile
files: what is already on the laptop is either handled or refused, and never lost.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import stat

import pytest
from operations_support import PROFILE, Laptop


@pytest.fixture(name="laptop")
def laptop_fixture(double, tmp_path) -> Laptop:
    double.control.reset()
    (tmp_path / "work").mkdir()
    return Laptop(str(tmp_path / "home"), double, str(tmp_path / "work"))


def snapshot(home: str) -> dict:
    """Every file below ``home``: path -> (mode, digest of its bytes)."""
    found = {}
    for directory, _folders, names in os.walk(home):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                found[path] = ("link", os.readlink(path))
                continue
            with open(path, "rb") as handle:
                found[path] = (stat.S_IMODE(os.lstat(path).st_mode), hashlib.sha256(handle.read()).hexdigest())
    return found


def write_config(laptop: Laptop, name: str, text: str) -> str:
    path = os.path.join(os.path.dirname(laptop.trust_file), name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def assert_refused_without_changes(laptop: Laptop, run, says: str, before: dict) -> None:
    assert run.returncode != 0
    assert says in run.output, run.output[-3000:]
    assert snapshot(laptop.home) == before, "the laptop changed"
    assert not os.path.lexists(os.path.join(laptop.home, ".local"))


# ------------------------------------------------------------------------------------------ values

@pytest.mark.parametrize("values, says", [
    pytest.param({"profile": "bad profile!"}, "is not a valid profile name", id="profile-with-space"),
    pytest.param({"profile": "../../etc"}, "is not a valid profile name", id="profile-path"),
    pytest.param({"ttl": 0}, "ttl must be from 1 to 60 minutes, got 0", id="ttl-0"),
    pytest.param({"ttl": 61}, "ttl must be from 1 to 60 minutes, got 61", id="ttl-61"),
    pytest.param({"ttl": "half an hour"}, "ttl must be a whole number of minutes", id="ttl-words"),
    pytest.param({"sonnet": "claude; rm -rf ~"}, "sonnet must be a serving endpoint name", id="model-shell"),
    pytest.param({"host": ""}, "no workspace host: pass it with -e host=", id="host-empty"),
    pytest.param({"host": "https://ws.cloud.databricks.com/'\"quoted"}, "which no workspace URL has", id="host-quotes"),
])
def test_a_bad_value_is_refused_before_anything_is_written(laptop, values, says):
    before = snapshot(laptop.home)

    run = laptop.setup(json.dumps(values))

    assert_refused_without_changes(laptop, run, says, before)


def test_no_host_and_no_terminal_says_how_to_give_one(laptop):
    before = snapshot(laptop.home)

    run = laptop.play("setup", browser=True)

    assert_refused_without_changes(laptop, run, "-e host=https://", before)


# ------------------------------------------------------------------------------------ config file

@pytest.mark.parametrize("text, says", [
    pytest.param("version: 1\nhost: https://ws.cloud.databricks.com\ncolour: blue\n",
                 "unknown key(s) colour; valid keys are version, host, profile", id="unknown-key"),
    pytest.param("version: 2\nhost: https://ws.cloud.databricks.com\n", "this collection reads version 1",
                 id="wrong-version"),
    pytest.param("{ host: [unclosed\n", "is neither valid JSON nor valid YAML", id="not-json-or-yaml"),
    pytest.param("- just\n- a list\n", "must hold a JSON or YAML object", id="not-an-object"),
    pytest.param('{"version": 1, "ttl": 90}', "ttl must be from 1 to 60 minutes, got 90", id="bad-value-inside"),
])
def test_a_bad_config_file_is_refused_before_anything_is_written(laptop, text, says):
    config = write_config(laptop, "fmapi.yml", text)
    before = snapshot(laptop.home)

    run = laptop.play("setup", "config=" + config, browser=True)

    assert_refused_without_changes(laptop, run, says, before)


def test_a_missing_config_file_is_named(laptop):
    before = snapshot(laptop.home)

    run = laptop.play("setup", "config=/nonexistent/fmapi.yml", browser=True)

    assert_refused_without_changes(laptop, run, "cannot read the config file /nonexistent/fmapi.yml", before)


@pytest.mark.parametrize("path, says", [
    pytest.param(None, "config_url must start with https://", id="http"),
    pytest.param("https://127.0.0.1:1/fmapi.yml", "cannot fetch the config URL", id="unreachable"),
    pytest.param("/mirror/claude-code/stable", "must hold a JSON or YAML object", id="not-a-config"),
])
def test_a_bad_config_url_is_refused_before_anything_is_written(laptop, path, says):
    url = "http://%s/fmapi.yml" % laptop.url.split("://", 1)[1] if path is None else \
        path if path.startswith("https://") else laptop.url + path
    before = snapshot(laptop.home)

    run = laptop.play("setup", "config_url=" + url, browser=True)

    assert_refused_without_changes(laptop, run, says, before)


# ------------------------------------------------------------------------------ settings location

@pytest.mark.parametrize("location, says", [
    pytest.param("/etc/hostname", "is not an existing folder", id="a-file"),
    pytest.param("/nonexistent/project", "is not an existing folder", id="a-typo"),
    pytest.param("/proc/self", "cannot be written", id="read-only"),
])
def test_a_settings_location_that_cannot_hold_settings_is_refused(laptop, location, says):
    before = snapshot(laptop.home)

    run = laptop.setup("settings_location=" + location)

    assert_refused_without_changes(laptop, run, says, before)


# ---------------------------------------------------------------------------------- hostile files

@pytest.mark.parametrize("content, says", [
    pytest.param(b'{"theme": "dark",\n  "env": {"A": "1"\n}\n', "is not valid JSON", id="invalid-json"),
    pytest.param(b'["not", "an", "object"]\n', "must be a JSON object", id="not-an-object"),
])
def test_a_settings_file_claude_code_cannot_read_is_refused_without_loss(laptop, content, says):
    os.makedirs(os.path.dirname(laptop.settings_path))
    with open(laptop.settings_path, "wb") as handle:
        handle.write(content)
    before = snapshot(laptop.home)

    run = laptop.setup()

    assert_refused_without_changes(laptop, run, says, before)
    assert "claude_code_repair_settings=true" in run.output


def test_settings_with_a_bom_a_large_body_and_a_symlink_are_merged_without_loss(laptop, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    own = {"theme": "dark", "history": ["entry %05d %s" % (number, "x" * 60) for number in range(40000)],
           "env": {"MY_FLAG": "on", "EDITOR": "vim"}}
    real = dotfiles / "claude-settings.json"
    real.write_bytes(b"\xef\xbb\xbf" + json.dumps(own, indent=4).encode("utf-8") + b"\n")
    assert real.stat().st_size > 2 * 1024 * 1024
    os.makedirs(os.path.dirname(laptop.settings_path))
    os.symlink(str(real), laptop.settings_path)

    run = laptop.setup()

    assert run.returncode == 0
    assert os.path.islink(laptop.settings_path) and os.readlink(laptop.settings_path) == str(real)
    raw = real.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b'\n    "theme": "dark"' in raw
    data = json.loads(raw[3:])
    assert data["history"] == own["history"] and data["theme"] == "dark"
    assert data["env"]["MY_FLAG"] == "on" and data["env"]["EDITOR"] == "vim"
    assert data["apiKeyHelper"] == laptop.helper_path

    removed = laptop.play("uninstall", "confirm=yes")

    assert removed.returncode == 0
    assert json.loads(real.read_bytes()[3:]) == own


def test_other_profiles_and_comments_of_the_cli_configuration_are_kept(laptop):
    # The collection changes only its own profile's lines; the Databricks CLI's own login then saves the
    # whole file again in its format (spacing), which is the CLI's, so values and comments are compared.
    config = os.path.join(laptop.home, ".databrickscfg")
    os.makedirs(laptop.home, exist_ok=True)
    theirs = ("; my workspaces\n[DEFAULT]\nhost = https://default.cloud.databricks.com\n\n"
              "# the CI one\n[ci]\nhost   =   https://ci.cloud.databricks.com\ntoken = dapi0123456789abcdef0123456789abcdef\n")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write(theirs)

    run = laptop.setup()

    assert run.returncode == 0
    with open(config, encoding="utf-8") as handle:
        text = handle.read()
    parser = configparser.ConfigParser(default_section="no default section", interpolation=None)
    parser.read_string(text)
    assert dict(parser["DEFAULT"]) == {"host": "https://default.cloud.databricks.com"}
    assert dict(parser["ci"]) == {"host": "https://ci.cloud.databricks.com",
                                  "token": "dapi0123456789abcdef0123456789abcdef"}
    assert parser[PROFILE]["host"] == laptop.url and parser[PROFILE]["auth_type"] == "databricks-cli"
    assert "; my workspaces" in text and "# the CI one" in text
    assert "dapi0123456789abcdef0123456789abcdef" not in run.output
