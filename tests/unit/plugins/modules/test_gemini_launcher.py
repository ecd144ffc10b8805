# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the gemini_launcher module: the module run in-process, the launcher it writes run by /bin/sh."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _gemini as gm
from ansible_collections.fmapi.coding_agents.plugins.modules import gemini_launcher
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.module_utils.test_gemini import write_script
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main

HOST = "https://my-workspace.cloud.databricks.com"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.launcher-module-token"


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(name="gemini")
def gemini_fixture(tmp_path):
    return write_script(tmp_path / "npm" / "node_modules" / ".bin" / "gemini", """#!%s
import json, os, sys
print(json.dumps({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items() if k.startswith(("GEMINI", "GOOGLE"))}}))
""" % sys.executable)


@pytest.fixture(name="helper")
def helper_fixture(home):
    return write_script(home / ".claude" / "fmapi-token-helper",
                        '#!/bin/sh\n# fmapi-coding-agents-helper: {"version": 1}\necho %s\n' % TOKEN, mode=0o700)


@pytest.fixture(name="launcher_path")
def launcher_path_fixture(home):
    return home / ".local" / "bin" / "gemini"


@pytest.fixture(name="install")
def install_fixture(capsys, gemini, helper, home):  # pylint: disable=unused-argument
    def install(check=False, diff=False, expect_failure=False, **args):
        module_args = {"gemini": gemini, "token_helper": helper, "host": HOST}
        if args.get("state") == "absent":
            module_args = {}
        module_args.update(args)
        return run_main(gemini_launcher.main, capsys, module_args, check, diff, expect_failure)
    return install


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def started(path, *args):
    completed = subprocess.run([str(path)] + list(args), capture_output=True, text=True, timeout=60, check=False,
                               env={"PATH": os.environ["PATH"]})
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_writes_the_launcher_at_the_default_path(install, launcher_path, gemini, helper):
    result = install(diff=True)

    assert result["changed"] is True and result["path"] == str(launcher_path)
    assert mode(launcher_path) == 0o755 and mode(launcher_path.parent) == 0o755
    assert result["gemini"] == gemini and result["token_helper"] == helper
    assert result["base_url"] == HOST + "/serving-endpoints/gemini"
    assert result["model"] == "databricks-gemini-2-5-pro"
    assert result["custom_headers"] == "x-databricks-use-coding-agent-mode: true"
    text = launcher_path.read_text()
    assert result["diff"]["after"] == text and result["diff"]["before"] == ""
    assert gm.launcher_metadata(text)["gemini"] == gemini
    assert started(launcher_path, "-p", "hi")["env"] == {
        "GOOGLE_GEMINI_BASE_URL": HOST + "/serving-endpoints/gemini", "GEMINI_API_KEY": TOKEN,
        "GEMINI_API_KEY_AUTH_MECHANISM": "bearer", "GEMINI_MODEL": "databricks-gemini-2-5-pro",
        "GEMINI_CLI_CUSTOM_HEADERS": "x-databricks-use-coding-agent-mode: true"}


def test_a_second_run_changes_nothing_and_a_new_value_rewrites(install, launcher_path):
    install()
    again = install()
    other = install(endpoint_style="ai-gateway", model="databricks-gemini-2-5-flash", custom_headers={})

    assert again["changed"] is False and "diff" not in again
    assert other["changed"] is True
    env = started(launcher_path)["env"]
    assert env["GOOGLE_GEMINI_BASE_URL"] == HOST + "/ai-gateway/gemini"
    assert env["GEMINI_MODEL"] == "databricks-gemini-2-5-flash" and env["GEMINI_CLI_CUSTOM_HEADERS"] == ""


def test_a_loosened_or_tightened_mode_is_restored(install, launcher_path):
    install()
    os.chmod(launcher_path, 0o777)
    assert install()["changed"] is True and mode(launcher_path) == 0o755


def test_check_mode_writes_nothing(install, launcher_path):
    result = install(check=True, diff=True)
    assert result["changed"] is True and "exec" in result["diff"]["after"]
    assert not launcher_path.exists()


def test_a_browser_url_is_reduced_with_a_warning(install, launcher_path):
    result = install(host=HOST + "/browse?o=123")
    assert result["base_url"] == HOST + "/serving-endpoints/gemini"
    assert any("reduced to the workspace URL" in warning for warning in result["_warnings"])


@pytest.mark.parametrize("override, expected", [
    ({"host": "https://evil.example.com'; touch /tmp/fmapi-pwned; '"}, "which no workspace URL has"),
    ({"host": "http://my-workspace.cloud.databricks.com"}, "must start with https://"),
    ({"model": "m; touch /tmp/fmapi-pwned"}, "must be a serving endpoint name"),
    ({"model": "$(id)"}, "must be a serving endpoint name"),
    ({"gemini": "gemini"}, "must be an absolute path"),
    ({"token_helper": "bin/helper"}, "must be an absolute path"),
    ({"custom_headers": {"Authorization": "Bearer x"}}, "looks like a credential"),
    ({"gemini": "/no/such/gemini"}, "does not exist or is not an executable file"),
])
def test_bad_values_are_refused_and_nothing_is_written(install, launcher_path, override, expected):
    result = install(expect_failure=True, **override)
    assert expected in result["msg"]
    assert not launcher_path.exists() and not os.path.exists("/tmp/fmapi-pwned")


def test_the_launcher_itself_or_another_launcher_is_refused_as_gemini(install, launcher_path, tmp_path, gemini, helper):
    own = install(expect_failure=True, gemini=str(launcher_path), path=str(launcher_path))
    assert "is the launcher itself" in own["msg"]
    other = write_script(tmp_path / "other" / "gemini",
                         gm.render_launcher(gemini, helper, HOST, "serving-endpoints", "m", ""))
    loop = install(expect_failure=True, gemini=other)
    assert "would start itself over and over" in loop["msg"]
    link = tmp_path / "link-to-launcher"
    install()
    link.symlink_to(launcher_path)
    assert "is the launcher itself (its path, or a link to it)" in install(expect_failure=True, gemini=str(link))["msg"]


def test_an_existing_real_gemini_at_path_is_never_replaced(install, launcher_path, gemini):
    launcher_path.parent.mkdir(parents=True)
    launcher_path.symlink_to(gemini)
    before = open(gemini, encoding="utf-8").read()

    result = install(expect_failure=True)
    absent = install(state="absent")

    assert "is not a Gemini launcher of this collection (a link to %s)" % gemini in result["msg"]
    assert open(gemini, encoding="utf-8").read() == before and launcher_path.is_symlink()
    assert absent["changed"] is False and launcher_path.is_symlink()
    assert any("left alone" in warning for warning in absent["_warnings"])


def test_a_token_helper_of_another_kind_gets_a_warning(install, tmp_path):
    own = write_script(tmp_path / "my-helper", "#!/bin/sh\necho token\n")
    assert any("not the token helper of this collection" in warning
               for warning in install(token_helper=own)["_warnings"])


def test_absent_removes_only_our_launcher_and_twice_is_a_no_op(install, launcher_path):
    install()
    check = install(state="absent", check=True)
    assert check["changed"] is True and launcher_path.exists()
    removed = install(state="absent", diff=True)
    again = install(state="absent")
    assert removed["changed"] is True and removed["removed"] is True and not launcher_path.exists()
    assert removed["diff"]["after"] == ""
    assert again["changed"] is False and again["removed"] is False


def test_state_present_needs_the_real_gemini_the_helper_and_the_host(capsys, home):  # pylint: disable=unused-argument
    result = run_main(gemini_launcher.main, capsys, {}, expect_failure=True)
    assert "gemini, token_helper, host" in result["msg"]
