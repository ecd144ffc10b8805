# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/_token_helper.py: the code the helper script carries (the collection's own
modules, inlined), its /bin/sh launcher and the Python it is set up with.

Running the written helper against a fake Databricks CLI (including the launcher's fallbacks when the recorded
Python is gone) is tested with the module, in tests/unit/plugins/modules/test_token_helper.py.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import (
    _databricks_cli,
    _ini,
    _token_helper,
    _workspace,
)

HOST = "https://my-workspace.cloud.databricks.com"
PROFILE = "fmapi-claudecode-profile"
CLI = "/usr/local/bin/databricks"
COLLECTION = "ansible_collections"


def top_level_names(module):
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    return _token_helper._top_level_names(tree)  # pylint: disable=protected-access


# ------------------------------------------------------------------------------------------ the body

def test_the_body_inlines_ini_workspace_and_the_cli_code_in_order():
    body = _token_helper.helper_body()

    markers = [line for line in body.splitlines() if line.startswith("# ----") and " from _" in line]
    assert [marker.rsplit(" ", 1)[-1] for marker in markers] == ["_ini", "_workspace", "_databricks_cli"]
    assert COLLECTION not in body, "no import of the collection is left"
    assert "from __future__" not in body, "the script has the one __future__ line, before the body"


def test_the_body_defines_every_name_of_the_inlined_modules():
    tree = ast.parse("from __future__ import annotations\n" + _token_helper.helper_body())
    defined = _token_helper._top_level_names(tree)  # pylint: disable=protected-access
    for module in (_ini, _workspace, _databricks_cli):
        assert top_level_names(module) <= defined, module.__name__


def test_the_rendered_helper_runs_as_python_without_the_collection(tmp_path):
    """An isolated interpreter (no PYTHONPATH, no site-packages) loads the helper and finds its rules in it."""
    path = tmp_path / "helper"
    path.write_text(_token_helper.render_helper(sys.executable, CLI, PROFILE, HOST, 30))
    program = ("import runpy, sys; ns = runpy.run_path(sys.argv[1], run_name='helper'); "
               "print(ns['HELPER_CONFIG']['profile'], ns['normalize_host']('%s/browse'), "
               "ns['IniDocument']('[p]\\nhost = x\\n').get('p', 'host'), callable(ns['token_helper_main']), "
               "'ansible_collections' in sys.modules)" % HOST)

    completed = subprocess.run([sys.executable, "-I", "-S", "-c", program, str(path)], capture_output=True,
                               text=True, timeout=60, check=False, env={"PATH": "/usr/bin:/bin"})

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == [PROFILE, HOST, "x", "True", "False"]


def load_module(tmp_path, name, source):
    """A module from source text, importable by inspect.getsource like the real ones."""
    path = tmp_path / (name + ".py")
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FUTURE = "from __future__ import annotations\n\n"
IMPORT_INI = "from ansible_collections.fmapi.coding_agents.plugins.module_utils._ini import (\n    IniDocument,\n)\n"


def test_imports_of_earlier_modules_are_dropped_and_other_imports_kept(tmp_path, monkeypatch):
    later = load_module(tmp_path, "fmapi_fake_later", FUTURE + "import json\n" + IMPORT_INI +
                        "\n\ndef parse(text):\n    return IniDocument(json.loads(text))\n")
    monkeypatch.setattr(_token_helper, "INLINED_MODULES", (_ini, later))

    body = _token_helper.helper_body()

    later_part = body.split("from fmapi_fake_later\n", 1)[1]
    assert later_part.strip().splitlines() == ["import json", "", "", "def parse(text):",
                                               "    return IniDocument(json.loads(text))"]


@pytest.mark.parametrize("later_source, words", [
    (FUTURE + "SETTINGS_SECTION = 'mine'\n", "fmapi_fake_clash redefines SETTINGS_SECTION of a module inlined before it"),
    (FUTURE + "def unquote(value):\n    return value\n", "redefines unquote"),
    (FUTURE + "class IniDocument:\n    pass\n", "redefines IniDocument"),
    (FUTURE + "from ansible_collections.fmapi.coding_agents.plugins.module_utils._workspace import parse_host\n",
     "line 3: the helper can only inline `from <earlier module> import name`"),
    (FUTURE + "from ansible_collections.fmapi.coding_agents.plugins.module_utils._ini import IniDocument as Doc\n",
     "can only inline"),
    (FUTURE + "import ansible_collections.fmapi.coding_agents.plugins.module_utils._ini\n", "can only inline"),
    ("X = 1\n", "must contain exactly one 'from __future__ import annotations'"),
])
def test_what_cannot_be_inlined_is_refused(tmp_path, monkeypatch, later_source, words):
    later = load_module(tmp_path, "fmapi_fake_clash", later_source)
    monkeypatch.setattr(_token_helper, "INLINED_MODULES", (_ini, later))

    with pytest.raises(RuntimeError) as caught:
        _token_helper.helper_body()

    assert words in str(caught.value)


# ------------------------------------------------------------------------------------ the launcher

@pytest.mark.parametrize("interpreter", ["", "python3", "bin/python3", "/opt/py'thon/python3", '/opt/"py"/python3',
                                         "/opt/py\\thon", "/opt/py\nthon", "/opt/py\x7fthon"])
def test_an_interpreter_that_cannot_be_written_into_the_launcher_is_refused(interpreter):
    with pytest.raises(_workspace.ValidationError):
        _token_helper.check_interpreter_path(interpreter)


def test_the_launcher_tries_the_chosen_python_first_each_candidate_once_quoted_for_sh():
    lines = _token_helper.launcher_lines("/usr/bin/python3")
    loop = next(line for line in lines if line.startswith("for fmapi_python in "))
    assert loop == "for fmapi_python in /usr/bin/python3 python3 /opt/homebrew/bin/python3 /usr/local/bin/python3; do"

    lines = _token_helper.launcher_lines("/Users/dev/My Tools/python3")
    loop = next(line for line in lines if line.startswith("for fmapi_python in "))
    assert loop.startswith("for fmapi_python in '/Users/dev/My Tools/python3' python3 /usr/bin/python3 ")
    assert lines[0] == "''':'" and lines[-1] == "'''" and lines[-2] == "exit 127"


def test_the_launcher_is_a_python_string_and_nothing_else():
    text = "\n".join(_token_helper.launcher_lines("/usr/bin/python3"))
    tree = ast.parse(text)
    assert len(tree.body) == 1 and isinstance(tree.body[0].value, ast.Constant)


def test_the_launcher_message_names_the_fix():
    echo = next(line for line in _token_helper.launcher_lines("/usr/bin/python3") if line.startswith("echo "))
    assert "no Python 3.8 or newer found" in echo and "ansible-playbook fmapi.coding_agents.setup" in echo


# ---------------------------------------------------------------------------------- the interpreter

def test_python_version_of_this_python_and_of_what_is_not_one(tmp_path):
    assert _token_helper.python_version(sys.executable) == tuple(sys.version_info[:2])
    assert _token_helper.python_version(str(tmp_path / "missing")) is None
    assert _token_helper.python_version("/bin/false") is None
    liar = tmp_path / "python3"
    liar.write_text("#!/bin/sh\necho 'Python three'\n")
    liar.chmod(0o755)
    assert _token_helper.python_version(str(liar)) is None


@pytest.mark.parametrize("prefix, base_prefix, expected", [
    ("/usr", "/usr", False),
    ("/home/dev/.venvs/ansible", "/usr", True),
])
def test_in_virtualenv(prefix, base_prefix, expected):
    assert _token_helper.in_virtualenv(prefix, base_prefix) is expected


def executables(directory, *names):
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = directory / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        paths.append(str(path))
    return paths


def test_the_first_system_python_that_runs_and_is_new_enough_is_chosen(tmp_path, monkeypatch):
    broken, old, good, later = executables(tmp_path / "sys", "broken", "old", "good", "later")
    missing = str(tmp_path / "missing" / "python3")
    monkeypatch.setattr(_token_helper, "SYSTEM_INTERPRETERS", (missing, broken, old, good, later))
    versions = {broken: None, old: (3, 7), good: (3, 8), later: (3, 13)}
    asked = []

    def version_of(path):
        asked.append(path)
        return versions[path]

    assert _token_helper.choose_interpreter("linux", version_of) == (good, "the system Python")
    assert asked == [broken, old, good], "a missing path is not run, and the search stops at the first good one"


def test_the_macos_usr_bin_python3_counts_only_with_the_command_line_tools(monkeypatch):
    monkeypatch.setattr(_token_helper, "SYSTEM_INTERPRETERS", ("/usr/bin/python3",))
    monkeypatch.setattr(_token_helper, "in_virtualenv", lambda: True)
    monkeypatch.setattr(_workspace, "is_executable_file", lambda path: True)
    looked_at = []

    def exists(path):
        looked_at.append(path)
        return path.startswith("/Applications/Xcode.app/")

    assert _token_helper.choose_interpreter("darwin", lambda path: (3, 9), exists)[0] == "/usr/bin/python3"
    assert looked_at[0] == "/Library/Developer/CommandLineTools/usr/bin/python3"
    chosen, why = _token_helper.choose_interpreter("darwin", lambda path: (3, 9), lambda path: False)
    assert chosen == sys.executable and "virtual environment" in why
    assert _token_helper.choose_interpreter("linux", lambda path: (3, 9), lambda path: False)[0] == "/usr/bin/python3"
