# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the token_helper module and of the helper script it writes (run against a fake CLI)."""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli as dbcli
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _token_helper
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import read_helper_metadata
from ansible_collections.fmapi.coding_agents.plugins.modules import token_helper
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.module_utils.test_databricks_cli import (
    FakeCli,
    token_json,
)

HOST = "https://my-workspace.cloud.databricks.com"
PROFILE = "fmapi-claudecode-profile"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.unit-test-token"


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(name="fake_cli")
def fake_cli_fixture(tmp_path, monkeypatch):
    cli = FakeCli(tmp_path / "cli")
    monkeypatch.setenv("FAKE_CLI_STATE", cli.state_path)
    cli.script(token=[{"stdout": token_json(TOKEN, 60)}])
    return cli


@pytest.fixture(name="helper_path")
def helper_path_fixture(home):
    return str(home / ".claude" / "fmapi-token-helper")


def run(args, capsys, check=False, diff=False, expect_failure=False):
    module_args = dict(args)
    module_args["_ansible_check_mode"] = check
    module_args["_ansible_diff"] = diff
    with patch_module_args(module_args):
        with pytest.raises(SystemExit) as exit_info:
            token_helper.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["_warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    if expect_failure:
        assert exit_info.value.code != 0 and result.get("failed"), result
    else:
        assert exit_info.value.code == 0 and not result.get("failed"), result.get("msg")
    return result


@pytest.fixture(name="install")
def install_fixture(capsys, fake_cli, helper_path):
    def install(check=False, diff=False, expect_failure=False, **args):
        defaults = {"path": helper_path, "host": HOST, "databricks_cli": fake_cli.path}
        defaults.update(args)
        return run(defaults, capsys, check, diff, expect_failure)
    return install


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def run_command(command, fake_cli, **environ):
    """Run an apiKeyHelper command as Claude Code does."""
    env = fake_cli.environ(**environ)
    return subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


# ---------------------------------------------------------------------------------------- present

def test_present_writes_a_private_helper_and_returns_the_command(install, helper_path, fake_cli, home):
    result = install()

    assert result["changed"] is True
    assert result["path"] == helper_path
    assert result["command"] == helper_path
    assert result["databricks_cli"] == fake_cli.path
    assert result["cli_version"] == "1.12.1"
    assert result["interpreter"] == sys.executable
    assert result["removed_legacy"] == []
    assert mode(helper_path) == 0o700
    assert mode(str(home / ".claude")) == 0o700
    text = read(helper_path)
    assert text == _token_helper.render_helper(sys.executable, fake_cli.path, PROFILE, HOST, 30, 120)
    first_line = "#!%s\n" % sys.executable if _token_helper.shebang_safe(sys.executable) else "#!/bin/sh\n"
    assert text.startswith(first_line)
    assert read_helper_metadata(text) == {"version": 1, "profile": PROFILE, "host": HOST,
                                          "databricks_cli": fake_cli.path, "ttl_minutes": 30, "login_timeout": 120}


def test_the_written_helper_prints_the_token(install, fake_cli):
    command = install()["command"]

    completed = run_command(command, fake_cli)

    assert (completed.returncode, completed.stdout, completed.stderr) == (0, TOKEN + "\n", "")


def test_a_second_run_is_not_a_change(install):
    install()
    assert install()["changed"] is False


def test_a_trailing_slash_on_the_host_is_not_a_change(install, helper_path):
    install()
    result = install(host=HOST + "/")
    assert result["changed"] is False
    assert read_helper_metadata(read(helper_path))["host"] == HOST


def test_changed_settings_rewrite_the_helper(install, helper_path):
    install()
    result = install(profile="other-profile", ttl_minutes=15, login_timeout=60)
    assert result["changed"] is True
    metadata = read_helper_metadata(read(helper_path))
    assert (metadata["profile"], metadata["ttl_minutes"], metadata["login_timeout"]) == ("other-profile", 15, 60)


def test_diff_shows_the_script(install, helper_path):
    result = install(diff=True)
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == read(helper_path)
    assert result["diff"]["before_header"] == helper_path + " (absent)"
    assert result["diff"]["after_header"] == helper_path


def test_check_mode_writes_nothing(install, home):
    result = install(check=True, diff=True)
    assert result["changed"] is True
    assert result["diff"]["after"].startswith("#!")
    assert not (home / ".claude").exists()


def test_a_wrong_mode_alone_is_fixed(install, helper_path):
    install()
    os.chmod(helper_path, 0o644)
    result = install()
    assert result["changed"] is True and mode(helper_path) == 0o700


def test_an_existing_parent_keeps_its_mode(install, home, helper_path):
    (home / ".claude").mkdir(mode=0o755)
    os.chmod(str(home / ".claude"), 0o755)
    install()
    assert mode(str(home / ".claude")) == 0o755


def test_a_symlinked_helper_is_written_through(install, home, helper_path, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "helper"
    target.write_text("old\n")
    (home / ".claude").mkdir()
    os.symlink(str(target), helper_path)

    install()

    assert os.path.islink(helper_path)
    assert read(str(target)).startswith("#!")


def test_the_legacy_pat_cache_is_removed(install, home):
    (home / ".claude").mkdir()
    cache = home / ".claude" / ".fmapi-pat-cache"
    cache.write_text("dapi0123456789abcdef0123456789abcdef\n")

    checked = install(check=True)
    assert cache.exists()
    result = install()

    assert checked["removed_legacy"] == [str(cache)]
    assert result["removed_legacy"] == [str(cache)] and result["changed"] is True
    assert not cache.exists()
    assert install()["removed_legacy"] == []


# ----------------------------------------------------------------------------------------- absent

def test_absent_removes_helper_and_legacy_cache(install, capsys, helper_path, home):
    install()
    (home / ".claude" / ".fmapi-pat-cache").write_text("x")

    result = run({"state": "absent", "path": helper_path}, capsys, diff=True)

    assert result["changed"] is True
    assert not os.path.exists(helper_path)
    assert result["removed_legacy"] == [str(home / ".claude" / ".fmapi-pat-cache")]
    assert result["diff"]["after"] == "" and result["diff"]["before"].startswith("#!")
    assert run({"state": "absent", "path": helper_path}, capsys)["changed"] is False


def test_absent_in_check_mode_removes_nothing(install, capsys, helper_path):
    install()
    assert run({"state": "absent", "path": helper_path}, capsys, check=True)["changed"] is True
    assert os.path.exists(helper_path)


# ------------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("args, message", [
    ({"profile": "p; touch /tmp/fmapi-unit-pwned"}, "not a valid profile name"),
    ({"profile": "$(touch /tmp/fmapi-unit-pwned)"}, "not a valid profile name"),
    ({"host": "http://my-workspace.cloud.databricks.com"}, "must start with https://"),
    ({"host": "https://x.example.com\"; touch /tmp/fmapi-unit-pwned #"}, "not a valid workspace URL"),
    ({"host": "https://x.example.com\nimport os"}, "control characters"),
    ({"ttl_minutes": 0}, "ttl_minutes must be from 1 to 60, got 0"),
    ({"ttl_minutes": 61}, "ttl_minutes must be from 1 to 60, got 61"),
    ({"login_timeout": 5}, "login_timeout must be from 10 to 3600"),
    ({"interpreter": "no-such-python"}, "was not found on PATH"),
    ({"interpreter": "/nonexistent/python3"}, "does not exist"),
    ({"interpreter": "/opt/py'thon/bin/python3"}, "quotes"),
])
def test_bad_values_fail_and_write_nothing(install, home, args, message):
    result = install(expect_failure=True, **args)
    assert message in result["msg"]
    assert not (home / ".claude").exists()
    assert not os.path.exists("/tmp/fmapi-unit-pwned")


def test_host_is_required_for_present(capsys, helper_path):
    result = run({"path": helper_path}, capsys, expect_failure=True)
    assert "host" in result["msg"]


def test_an_interpreter_name_is_looked_up_on_path(install, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", "%s:%s" % (bin_dir, os.environ.get("PATH", "")))
    assert install(interpreter="python3")["interpreter"] == str(bin_dir / "python3")


def test_an_interpreter_that_is_not_python_is_refused(install, tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho nope\n")
    fake.chmod(0o755)
    result = install(interpreter=str(fake), expect_failure=True)
    assert "is not a working Python" in result["msg"]


def test_a_legacy_python_cli_is_refused(install, fake_cli):
    fake_cli.script(version=[{"stdout": "Version 0.18.0\n"}])
    result = install(expect_failure=True)
    assert "is not the Databricks CLI" in result["msg"] and "legacy Python databricks-cli" in result["msg"]


def test_a_missing_cli_fails_but_check_mode_only_warns(install, tmp_path, home):
    missing = str(tmp_path / "nowhere" / "databricks")
    failed = install(databricks_cli=missing, expect_failure=True)
    checked = install(databricks_cli=missing, check=True)

    assert "does not exist" in failed["msg"] and "Install the Databricks CLI" in failed["msg"]
    assert checked["changed"] is True and any(missing in warning for warning in checked["_warnings"])


def test_an_old_cli_gets_a_warning_about_force_refresh(install, fake_cli):
    fake_cli.script(version=[{"stdout": "Databricks CLI v0.250.0\n"}])
    result = install()
    assert any("older than v0.296.0" in warning for warning in result["_warnings"])


def test_the_cli_is_found_when_not_given(capsys, helper_path, fake_cli, monkeypatch):
    seen = []

    def find_cli(environ):
        seen.append(environ)
        return dbcli.FoundCli(fake_cli.path, "1.12.1", ["/usr/bin/databricks"])

    monkeypatch.setattr(dbcli, "find_cli", find_cli)
    result = run({"path": helper_path, "host": HOST}, capsys)
    assert result["databricks_cli"] == fake_cli.path and seen


def test_no_cli_found_lists_what_was_skipped(capsys, helper_path, monkeypatch):
    monkeypatch.setattr(dbcli, "find_cli", lambda environ: dbcli.FoundCli(None, None, ["/usr/bin/databricks"]))
    result = run({"path": helper_path, "host": HOST}, capsys, expect_failure=True)
    assert "/usr/bin/databricks" in result["msg"] and "Install the Databricks CLI" in result["msg"]


# --------------------------------------------------------------------------------- the script text

def test_paths_with_spaces_get_a_sh_start_and_a_quoted_command(install, home, fake_cli, tmp_path):
    python_dir = tmp_path / "Python Tools"
    python_dir.mkdir()
    (python_dir / "python3").symlink_to(sys.executable)
    path = str(home / "Library" / "Application Support" / "fmapi helper")

    result = install(path=path, interpreter=str(python_dir / "python3"))

    assert result["command"] == "'%s'" % path
    text = read(path)
    assert text.startswith("#!/bin/sh\n")
    assert read_helper_metadata(text)["profile"] == PROFILE
    completed = run_command(result["command"], fake_cli)
    assert (completed.returncode, completed.stdout) == (0, TOKEN + "\n"), completed.stderr


def test_a_long_interpreter_path_does_not_go_into_the_shebang():
    long_path = "/opt/" + "x" * 130 + "/python3"
    assert not _token_helper.shebang_safe(long_path)
    assert _token_helper.render_helper(long_path, "/usr/bin/databricks", PROFILE, HOST, 30).startswith("#!/bin/sh\n")


@pytest.mark.parametrize("interpreter", [sys.executable, "/opt/my python/bin/python3"])
def test_the_script_is_python_38_code_with_one_future_import(interpreter):
    text = _token_helper.render_helper(interpreter, "/usr/local/bin/databricks", PROFILE, HOST, 30)
    tree = ast.parse(text, feature_version=(3, 8))
    futures = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == "__future__"]
    assert len(futures) == 1
    compile(text, "fmapi-token-helper", "exec")
    assert read_helper_metadata(text) is not None
    assert "eval(" not in text.replace("literal_eval(", "") and "shell=True" not in text and "os.system" not in text


def test_hostile_values_stay_data_in_the_script(tmp_path, monkeypatch):
    """Even values the module would refuse cannot escape their literals in the script or reach a shell."""
    fake_cli = FakeCli(tmp_path / "cli")
    marker = tmp_path / "pwned"
    profile = "p'; import os; os.system('touch %s') #\"\"\" $(touch %s)" % (marker, marker)
    host = "https://h\n__import__('os').system('touch %s')\n# `touch %s`" % (marker, marker)
    dead = "Error: A new access token could not be retrieved because the refresh token is invalid.\n"
    fake_cli.script(token=[{"rc": 1, "stderr": dead}])
    path = tmp_path / "helper"
    path.write_text(_token_helper.render_helper(sys.executable, fake_cli.path, profile, host, 30))
    path.chmod(0o700)

    metadata = read_helper_metadata(path.read_text())
    completed = run_command(_token_helper.helper_command(str(path)), fake_cli)

    assert (metadata["profile"], metadata["host"]) == (profile, host)
    assert completed.returncode == 1 and completed.stdout == ""
    call = fake_cli.calls("token")[0]
    assert call["argv"][call["argv"].index("--profile") + 1] == profile
    assert not marker.exists()


def test_the_helper_body_is_the_shared_module_code():
    body = _token_helper.helper_body()
    assert "def token_helper_main(" in body and "def classify_cli_failure(" in body
    assert "from __future__" not in body
    assert "ansible" not in "\n".join(line for line in body.splitlines() if line.startswith(("import", "from")))
