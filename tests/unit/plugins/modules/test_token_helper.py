# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the token_helper module and of the helper script it writes (run against a fake CLI)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _token_helper
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import read_helper_metadata
from ansible_collections.fmapi.coding_agents.plugins.modules import token_helper
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.module_utils.test_databricks_cli import FakeCli
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import (
    legacy_databricks_cli,
    scripted_databricks_cli,
    search_only_path,
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
    return scripted_databricks_cli(tmp_path / "cli", monkeypatch, TOKEN)


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
    interpreter, why = _token_helper.choose_interpreter()

    result = install()

    assert result["changed"] is True
    assert result["path"] == helper_path
    assert result["command"] == helper_path
    assert result["databricks_cli"] == fake_cli.path
    assert result["cli_version"] == "1.12.1"
    assert (result["interpreter"], result["interpreter_reason"]) == (interpreter, why)
    assert result["removed_legacy"] == []
    assert mode(helper_path) == 0o700
    assert mode(str(home / ".claude")) == 0o700
    text = read(helper_path)
    assert text == _token_helper.render_helper(interpreter, fake_cli.path, PROFILE, HOST, 30, 120)
    assert read_helper_metadata(text) == {"version": 1, "profile": PROFILE, "host": HOST, "interpreter": interpreter,
                                          "databricks_cli": fake_cli.path, "ttl_minutes": 30, "login_timeout": 120}


def test_the_helper_is_a_sh_launcher_then_python(install, helper_path, tmp_path):
    python = tmp_path / "Python Tools" / "python3"
    python.parent.mkdir()
    python.symlink_to(sys.executable)

    install(interpreter=str(python))

    lines = read(helper_path).splitlines()
    assert lines[0] == "#!/bin/sh"
    assert read_helper_metadata(lines[1] + "\n")["interpreter"] == str(python)
    start = lines.index("''':'")
    launcher = lines[start:lines.index("'''", start + 1) + 1]
    # The chosen Python first (quoted for sh), then python3 on PATH and the usual places.
    loop = next(line for line in launcher if line.startswith("for fmapi_python in "))
    assert loop == "for fmapi_python in '%s' python3 /usr/bin/python3 /opt/homebrew/bin/python3 " \
                   "/usr/local/bin/python3; do" % python
    assert 'exec "$fmapi_python" "$0" "$@"' in [line.strip() for line in launcher] and launcher[-2] == "exit 127"
    assert lines[len(launcher) + start] == "from __future__ import annotations"


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


# ------------------------------------------------------------------------------- the interpreter

def python_link(directory, name="python3", target=sys.executable):
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / name
    link.symlink_to(target)
    return str(link)


def test_a_system_python_is_chosen_before_the_one_ansible_runs(tmp_path, monkeypatch):
    system = python_link(tmp_path / "usr" / "bin")
    monkeypatch.setattr(_token_helper, "SYSTEM_INTERPRETERS", (str(tmp_path / "missing" / "python3"), system))
    assert _token_helper.choose_interpreter(platform="linux") == (system, "the system Python")


def test_a_system_python_older_than_38_is_passed_over(tmp_path, monkeypatch):
    old, new = python_link(tmp_path / "old"), python_link(tmp_path / "new")
    monkeypatch.setattr(_token_helper, "SYSTEM_INTERPRETERS", (old, new))
    versions = {old: (3, 6), new: (3, 12)}
    assert _token_helper.choose_interpreter(platform="linux", version_of=versions.get)[0] == new


@pytest.mark.parametrize("in_venv, words", [(False, "the Python Ansible runs on this machine"),
                                            (True, "falls back to python3 on PATH")])
def test_without_a_system_python_the_running_one_is_chosen(monkeypatch, in_venv, words):
    monkeypatch.setattr(_token_helper, "SYSTEM_INTERPRETERS", ())
    monkeypatch.setattr(_token_helper, "in_virtualenv", lambda: in_venv)
    interpreter, why = _token_helper.choose_interpreter()
    assert interpreter == sys.executable and words in why


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs /usr/bin/python3")
@pytest.mark.parametrize("tools_installed", [False, True])
def test_the_macos_python3_stub_is_used_only_with_the_command_line_tools(monkeypatch, tools_installed):
    monkeypatch.setattr(_token_helper, "SYSTEM_INTERPRETERS", ("/usr/bin/python3",))
    monkeypatch.setattr(_token_helper, "in_virtualenv", lambda: True)
    chosen = _token_helper.choose_interpreter(platform="darwin", version_of=lambda path: (3, 9),
                                              exists=lambda path: tools_installed)[0]
    assert chosen == ("/usr/bin/python3" if tools_installed else sys.executable)


def test_the_helper_keeps_working_when_its_python_is_deleted(install, fake_cli, tmp_path):
    """The interpreter recorded at setup (here a virtual environment's) goes away: the launcher falls back."""
    venv = tmp_path / "ansible-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    venv_python = str(venv / "bin" / "python")
    result = install(interpreter=venv_python)
    assert result["interpreter"] == venv_python
    assert run_command(result["command"], fake_cli).stdout == TOKEN + "\n"

    shutil.rmtree(str(venv))
    fallback = tmp_path / "fallback-bin"
    python_link(fallback)
    completed = run_command(result["command"], fake_cli, PATH="%s:/usr/bin:/bin" % fallback)

    assert not os.path.exists(venv_python)
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, TOKEN + "\n", "")


def test_a_python_older_than_38_on_path_is_passed_over(fake_cli, tmp_path, monkeypatch):
    good = python_link(tmp_path / "good")
    monkeypatch.setattr(_token_helper, "FALLBACK_INTERPRETERS", ("python3", good))
    old_bin = tmp_path / "old-bin"
    old_bin.mkdir()
    calls = tmp_path / "old-python-calls"
    (old_bin / "python3").write_text("#!/bin/sh\necho \"$@\" >> %s\nexit 1\n" % calls)
    (old_bin / "python3").chmod(0o755)
    path = tmp_path / "helper"
    path.write_text(_token_helper.render_helper(str(tmp_path / "gone" / "python3"), fake_cli.path, PROFILE, HOST, 30))
    path.chmod(0o700)

    completed = run_command(str(path), fake_cli, PATH=str(old_bin))

    assert (completed.returncode, completed.stdout) == (0, TOKEN + "\n"), completed.stderr
    # Asked for its version only, never given the helper to run.
    assert calls.read_text().startswith("-c import sys; sys.exit(sys.version_info < (3, 8))")
    assert len(calls.read_text().splitlines()) == 1


def test_without_any_python_the_helper_says_what_to_do(fake_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(_token_helper, "FALLBACK_INTERPRETERS", ("python3", str(tmp_path / "nowhere" / "python3")))
    path = tmp_path / "helper"
    path.write_text(_token_helper.render_helper(str(tmp_path / "gone" / "python3"), fake_cli.path, PROFILE, HOST, 30))
    path.chmod(0o700)
    empty = tmp_path / "empty-bin"
    empty.mkdir()

    completed = run_command(str(path), fake_cli, PATH=str(empty))

    assert (completed.returncode, completed.stdout) == (127, "")
    assert "no Python 3.8 or newer found" in completed.stderr
    assert "ansible-playbook fmapi.coding_agents.setup" in completed.stderr
    assert fake_cli.calls() == []


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
    ({"host": "https://x.example.com\"; touch /tmp/fmapi-unit-pwned #"}, "which no workspace URL has"),
    ({"host": "https://x.example.com\nimport os"}, "control characters"),
    ({"ttl_minutes": 0}, "ttl_minutes must be from 1 to 60 minutes, got 0"),
    ({"ttl_minutes": 61}, "ttl_minutes must be from 1 to 60 minutes, got 61"),
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


def test_the_cli_is_found_when_not_given_past_a_legacy_one(capsys, helper_path, fake_cli, monkeypatch, tmp_path):
    search_only_path(monkeypatch)
    legacy = legacy_databricks_cli(tmp_path / "legacy-bin")
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "legacy-bin"), fake_cli.directory, "/usr/bin", "/bin"]))

    result = run({"path": helper_path, "host": HOST}, capsys)

    assert result["databricks_cli"] == fake_cli.path and result["cli_version"] == "1.12.1"
    assert read_helper_metadata(read(helper_path))["databricks_cli"] == fake_cli.path
    assert legacy != fake_cli.path


def test_no_cli_found_lists_what_was_skipped(capsys, helper_path, monkeypatch, tmp_path):
    search_only_path(monkeypatch)
    legacy = legacy_databricks_cli(tmp_path / "legacy-bin")
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "legacy-bin"), "/usr/bin", "/bin"]))

    result = run({"path": helper_path, "host": HOST}, capsys, expect_failure=True)

    assert legacy in result["msg"] and "not the Databricks CLI" in result["msg"]
    assert "Install the Databricks CLI" in result["msg"]
    assert not os.path.exists(helper_path)


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


def test_a_long_interpreter_path_is_fine_for_the_launcher(tmp_path, monkeypatch):
    """A shebang line is limited (127 bytes on Linux); the launcher names the interpreter in sh instead."""
    fake_cli = scripted_databricks_cli(tmp_path / "cli", monkeypatch, TOKEN)
    deep = tmp_path / ("x" * 100) / ("y" * 100)
    deep.mkdir(parents=True)
    (deep / "python3").symlink_to(sys.executable)
    path = tmp_path / "helper"
    path.write_text(_token_helper.render_helper(str(deep / "python3"), fake_cli.path, PROFILE, HOST, 30))
    path.chmod(0o700)

    completed = run_command(_token_helper.helper_command(str(path)), fake_cli)

    assert path.read_text().startswith("#!/bin/sh\n")
    assert (completed.returncode, completed.stdout) == (0, TOKEN + "\n"), completed.stderr


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
