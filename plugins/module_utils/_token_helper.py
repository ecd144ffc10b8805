# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The token helper script that module token_helper writes. Private to the collection.

The helper is one self-contained file: a POSIX sh launcher that finds a Python 3.8 or newer at
run time, then the Python code of _ini.py, _workspace.py and _databricks_cli.py, inlined (the
helper and the modules share one tested implementation of every rule), then its configuration
as Python literals (``repr``), so no value is ever parsed by a shell or evaluated as code.

Why a launcher rather than ``#!<python>``: the Python that ran the module may be Ansible's own
(a controller-local run uses Ansible's venv, pipx or Homebrew Python), and Ansible gets upgraded,
rebuilt or moved. A shebang naming it would break Claude Code's ``apiKeyHelper`` silently. The
launcher tries the interpreter chosen at install time (a system Python where there is one, see
:func:`choose_interpreter`), then ``python3`` on PATH and the usual install places, and execs the
first Python 3.8 or newer. When there is none it says so on stderr, which Claude Code and Codex
show to the user.

Layout::

    #!/bin/sh
    # fmapi-coding-agents-helper: {"host": ..., ...}    (read by claude_code_info)
    # comments
    ''':'
    <sh: find a Python, exec it on this file>
    '''
    from __future__ import annotations
    <_ini.py, _workspace.py, _databricks_cli.py after their own __future__ lines, collection imports removed>
    HELPER_CONFIG = {...}
    if __name__ == "__main__": sys.exit(token_helper_main(HELPER_CONFIG))

sh runs the lines up to its ``exit``; Python reads them as the module's docstring.
"""

from __future__ import annotations

import ast
import inspect
import os
import shlex
import subprocess
import sys
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli, _ini, _workspace
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import render_helper_metadata

HELPER_FILE_NAME = _workspace.TOKEN_HELPER_NAME
DEFAULT_HELPER_PATH = _workspace.TOKEN_HELPER_PATH
# Older installs cached a personal access token in this file beside their helper.
LEGACY_PAT_CACHE = ".fmapi-pat-cache"
HELPER_MODE = 0o700
DIRECTORY_MODE = 0o700
DEFAULT_LOGIN_TIMEOUT = 120
MIN_LOGIN_TIMEOUT = 10
MAX_LOGIN_TIMEOUT = 3600
MIN_PYTHON = (3, 8)
# Where the launcher looks when the chosen interpreter is gone, in this order ("python3" is PATH).
FALLBACK_INTERPRETERS = ("python3", "/usr/bin/python3", "/opt/homebrew/bin/python3", "/usr/local/bin/python3")
# Stable system interpreters, preferred at install time over the one Ansible runs with.
SYSTEM_INTERPRETERS = ("/usr/bin/python3", "/opt/homebrew/bin/python3", "/usr/local/bin/python3")
# On macOS /usr/bin/python3 is a stub that offers to install the Command Line Tools unless they are there.
_MACOS_TOOLS_PYTHONS = ("/Library/Developer/CommandLineTools/usr/bin/python3",
                        "/Applications/Xcode.app/Contents/Developer/usr/bin/python3")
# The modules inlined into the helper, in order: each may import names only from those before it.
INLINED_MODULES = (_ini, _workspace, _databricks_cli)
_COLLECTION_PACKAGE = "ansible_collections.fmapi.coding_agents."
_FUTURE_LINE = "from __future__ import annotations\n"


def check_interpreter_path(interpreter: str) -> str:
    """``interpreter`` if it can be written into the helper, else ValidationError."""
    if not interpreter or not interpreter.startswith("/"):
        raise _workspace.ValidationError(
            "interpreter %r must be an absolute path to a Python 3.8 or newer." % (interpreter,))
    if any(ord(char) < 32 or ord(char) == 127 for char in interpreter) or any(c in interpreter for c in "'\"\\"):
        raise _workspace.ValidationError(
            "interpreter %r contains quotes, backslashes or control characters; use a path without them "
            "(a symlink to the interpreter will do)." % (interpreter,))
    return interpreter


def python_version(interpreter: str) -> t.Optional[t.Tuple[int, int]]:
    """``(major, minor)`` of the Python at ``interpreter``, None when it does not run."""
    try:
        # A bounded wait, which AnsibleModule.run_command cannot give.
        # pylint: disable-next=ansible-bad-function
        completed = subprocess.run([interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   env=dict(os.environ, LC_ALL="C"), timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    parts = completed.stdout.decode("ascii", "replace").strip().split(".")
    if completed.returncode != 0 or len(parts) != 2 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1])


def in_virtualenv(prefix: str = sys.prefix, base_prefix: str = getattr(sys, "base_prefix", sys.prefix)) -> bool:
    """Whether this Python runs in a virtual environment (which may be deleted or rebuilt)."""
    return os.path.realpath(prefix) != os.path.realpath(base_prefix)


def choose_interpreter(platform: str = sys.platform,
                       version_of: t.Callable[[str], t.Optional[t.Tuple[int, int]]] = python_version,
                       exists: t.Callable[[str], bool] = os.path.exists) -> t.Tuple[str, str]:
    """``(interpreter, why)``: the Python the helper should run with on this machine.

    A system Python at a stable path comes first (it outlives any Ansible installation); then the
    Python running this module when it is not a virtual environment; then that one anyway (the
    launcher falls back to the others when it disappears).
    """
    for candidate in SYSTEM_INTERPRETERS:
        if platform == "darwin" and candidate == "/usr/bin/python3" and not any(
                exists(path) for path in _MACOS_TOOLS_PYTHONS):
            continue
        if _workspace.is_executable_file(candidate) and (version_of(candidate) or (0, 0)) >= MIN_PYTHON:
            return candidate, "the system Python"
    if sys.executable and not in_virtualenv():
        return sys.executable, "the Python Ansible runs on this machine"
    return sys.executable, "the Python Ansible runs on this machine (a virtual environment; the helper falls back " \
                           "to python3 on PATH if it goes away)"


# ------------------------------------------------------------------------------------------- the code

def _top_level_names(tree: ast.Module) -> t.Set[str]:
    names = set()  # type: t.Set[str]
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(item.id for item in ast.walk(target) if isinstance(item, ast.Name))
    return names


def _body(module: t.Any, defined: t.Set[str]) -> t.Tuple[str, t.Set[str]]:
    """The code of ``module`` after its ``from __future__`` line, without imports from this collection."""
    source = inspect.getsource(module)
    if source.count(_FUTURE_LINE) != 1:
        raise RuntimeError("%s must contain exactly one %r" % (module.__name__, _FUTURE_LINE.strip()))
    tree = ast.parse(source)
    lines = source.splitlines(True)
    dropped = set()  # type: t.Set[int]
    start = 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            start = t.cast(int, getattr(node, "end_lineno", node.lineno))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
            if any(name.startswith(_COLLECTION_PACKAGE) for name in modules):
                if not isinstance(node, ast.ImportFrom) or any(alias.asname or alias.name not in defined
                                                               for alias in node.names):
                    raise RuntimeError("%s line %d: the helper can only inline `from <earlier module> import name`"
                                       % (module.__name__, node.lineno))
                dropped.update(range(node.lineno - 1, t.cast(int, getattr(node, "end_lineno", node.lineno))))
    names = _top_level_names(tree)
    clash = names & defined
    if clash:
        raise RuntimeError("%s redefines %s of a module inlined before it" % (module.__name__, ", ".join(sorted(clash))))
    code = "".join(line for number, line in enumerate(lines) if number >= start and number not in dropped)
    return code.strip("\n") + "\n", names


def helper_body() -> str:
    """The code the helper runs: the inlined modules, in order."""
    defined = set()  # type: t.Set[str]
    parts = []
    for module in INLINED_MODULES:
        code, names = _body(module, defined)
        defined |= names
        parts.append("# " + "-" * 40 + " from %s\n\n" % module.__name__.rsplit(".", 1)[-1] + code)
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------------------- the script

def helper_config(databricks_cli: str, profile: str, host: str, ttl_minutes: int,
                  login_timeout: int) -> t.Dict[str, t.Any]:
    """What the helper needs to know."""
    return dict(databricks_cli=databricks_cli, profile=profile, host=host, ttl_minutes=int(ttl_minutes),
                login_timeout=int(login_timeout))


def _python_literal(config: t.Mapping[str, t.Any]) -> str:
    lines = ["{"] + ["    %r: %r," % (key, config[key]) for key in sorted(config)] + ["}"]
    text = "\n".join(lines)
    if ast.literal_eval(text) != dict(config):
        raise RuntimeError("the helper configuration does not survive a round trip")
    return text


def launcher_lines(interpreter: str) -> t.List[str]:
    """The sh lines (and Python docstring) that start the helper with a working Python 3.8+."""
    check_interpreter_path(interpreter)
    quoted = shlex.quote(interpreter)
    candidates = " ".join([quoted] + [shlex.quote(item) for item in FALLBACK_INTERPRETERS if item != interpreter])
    return [
        "''':'",
        "# sh reads these lines (Python reads them as a string): run this file with a Python 3.8 or newer, the one",
        "# chosen at setup first, then python3 on PATH and the usual places (Ansible's own Python may be gone).",
        "for fmapi_python in %s; do" % candidates,
        '  case $fmapi_python in',
        '    /*) [ -x "$fmapi_python" ] || continue ;;',
        '    *) fmapi_python=$(command -v "$fmapi_python" 2>/dev/null) || continue ;;',
        '  esac',
        '  if [ "$fmapi_python" = %s ] || "$fmapi_python" -c %s 2>/dev/null; then'
        % (quoted, shlex.quote("import sys; sys.exit(sys.version_info < (%d, %d))" % MIN_PYTHON)),
        '    exec "$fmapi_python" "$0" "$@"',
        '  fi',
        'done',
        "echo %s >&2" % shlex.quote(
            "fmapi-token-helper: no Python %d.%d or newer found (tried %s). Install Python 3, then run the setup "
            "again: ansible-playbook fmapi.coding_agents.setup" % (MIN_PYTHON[0], MIN_PYTHON[1], candidates.replace("'", ""))),
        "exit 127",
        "'''",
    ]


def render_helper(interpreter: str, databricks_cli: str, profile: str, host: str, ttl_minutes: int,
                  login_timeout: int = DEFAULT_LOGIN_TIMEOUT) -> str:
    """The complete text of the token helper script."""
    config = helper_config(databricks_cli, profile, host, ttl_minutes, login_timeout)
    header = [
        "#!/bin/sh",
        render_helper_metadata(interpreter=interpreter, **config),
        "#",
        "# Token helper for Databricks Foundation Model API (Claude Code's apiKeyHelper): prints an OAuth",
        "# access token of Databricks CLI profile %s that lives at least %d minutes more, logging in"
        % (profile, int(ttl_minutes)),
        "# again when the session has ended and a browser can open. Nothing but the token goes to stdout;",
        "# no token is stored anywhere by this script (the Databricks CLI keeps its own token cache).",
        "#",
        "# Written by the fmapi.coding_agents.token_helper Ansible module: changes are overwritten on",
        "# its next run. Copyright (c) fmapi.coding_agents contributors; GNU General Public License v3.0+",
        "# (see https://www.gnu.org/licenses/gpl-3.0.txt). SPDX-License-Identifier: GPL-3.0-or-later",
    ]
    footer = [
        "",
        "",
        "HELPER_CONFIG = " + _python_literal(config),
        "",
        'if __name__ == "__main__":',
        "    sys.exit(token_helper_main(HELPER_CONFIG))",
        "",
    ]
    return ("\n".join(header + launcher_lines(interpreter)) + "\n" + _FUTURE_LINE + "\n" + helper_body()
            + "\n".join(footer))


def helper_command(path: str) -> str:
    """The ``apiKeyHelper`` value that runs the helper at ``path`` (Claude Code runs it with /bin/sh -c)."""
    return shlex.quote(path)
