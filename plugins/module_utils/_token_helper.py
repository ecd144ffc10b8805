# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The token helper script that module token_helper writes. Private to the collection.

The script is Python, run by the interpreter Ansible ran the module with (a working Python on
that laptop by construction). Its body is the code of _databricks_cli.py, copied verbatim, so the
helper and the modules share one tested implementation; its configuration is a dict of Python
literals (``repr``), so no value is ever parsed by a shell or evaluated as code.

Layout::

    #!/usr/bin/python3                                  (or #!/bin/sh, see below)
    # fmapi-coding-agents-helper: {"host": ..., ...}    (read by claude_settings_info)
    # comments
    \"\"\"docstring\"\"\"
    from __future__ import annotations
    <_databricks_cli.py after its own __future__ line>
    HELPER_CONFIG = {...}
    if __name__ == "__main__": sys.exit(token_helper_main(HELPER_CONFIG))

A shebang cannot hold a path with spaces and is cut at 127 bytes on older Linux kernels. For such
an interpreter the script starts with ``#!/bin/sh`` and a two-line sh/Python polyglot that
``exec``s the interpreter on the script; Python reads those lines as the docstring.
"""

from __future__ import annotations

import ast
import inspect
import shlex
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import render_helper_metadata

HELPER_FILE_NAME = "fmapi-token-helper"
DEFAULT_HELPER_PATH = "~/.claude/" + HELPER_FILE_NAME
# Older installs cached a personal access token in this file beside their helper.
LEGACY_PAT_CACHE = ".fmapi-pat-cache"
HELPER_MODE = 0o700
DIRECTORY_MODE = 0o700
DEFAULT_LOGIN_TIMEOUT = 120
MIN_LOGIN_TIMEOUT = 10
MAX_LOGIN_TIMEOUT = 3600
# Linux before 5.1 reads 128 bytes of a shebang line (including "#!" and the newline).
_MAX_SHEBANG_LENGTH = 125
_FUTURE_LINE = "from __future__ import annotations\n"


def check_interpreter_path(interpreter: str) -> str:
    """``interpreter`` if it can be written into the helper, else ValidationError."""
    if not interpreter or not interpreter.startswith("/"):
        raise _databricks_cli.ValidationError(
            "interpreter %r must be an absolute path to a Python 3.8 or newer." % (interpreter,))
    if any(ord(char) < 32 or ord(char) == 127 for char in interpreter) or any(c in interpreter for c in "'\"\\"):
        raise _databricks_cli.ValidationError(
            "interpreter %r contains quotes, backslashes or control characters; use a path without them "
            "(a symlink to the interpreter will do)." % (interpreter,))
    return interpreter


def shebang_safe(interpreter: str) -> bool:
    """Whether ``#!interpreter`` works as a shebang line on every supported system."""
    return not any(char.isspace() for char in interpreter) and len("#!" + interpreter) <= _MAX_SHEBANG_LENGTH


def helper_body() -> str:
    """The code the helper runs: _databricks_cli.py after its ``from __future__`` line."""
    source = inspect.getsource(_databricks_cli)
    if source.count(_FUTURE_LINE) != 1:
        raise RuntimeError("_databricks_cli.py must contain exactly one %r" % _FUTURE_LINE.strip())
    return source.split(_FUTURE_LINE, 1)[1].lstrip("\n")


def helper_config(databricks_cli: str, profile: str, host: str, ttl_minutes: int,
                  login_timeout: int) -> t.Dict[str, t.Any]:
    """What the helper needs to know; also its metadata line."""
    return dict(databricks_cli=databricks_cli, profile=profile, host=host, ttl_minutes=int(ttl_minutes),
                login_timeout=int(login_timeout))


def _python_literal(config: t.Mapping[str, t.Any]) -> str:
    lines = ["{"] + ["    %r: %r," % (key, config[key]) for key in sorted(config)] + ["}"]
    text = "\n".join(lines)
    if ast.literal_eval(text) != dict(config):
        raise RuntimeError("the helper configuration does not survive a round trip")
    return text


def render_helper(interpreter: str, databricks_cli: str, profile: str, host: str, ttl_minutes: int,
                  login_timeout: int = DEFAULT_LOGIN_TIMEOUT) -> str:
    """The complete text of the token helper script."""
    check_interpreter_path(interpreter)
    config = helper_config(databricks_cli, profile, host, ttl_minutes, login_timeout)
    header = [
        "#!" + interpreter if shebang_safe(interpreter) else "#!/bin/sh",
        render_helper_metadata(**config),
        "#",
        "# Claude Code apiKeyHelper for Databricks Foundation Model API: prints an OAuth access token of",
        "# Databricks CLI profile %s that lives at least %d minutes more, logging in again when the"
        % (profile, int(ttl_minutes)),
        "# session has ended and a browser can open. Nothing but the token goes to stdout; no token is",
        "# stored anywhere by this script (the Databricks CLI keeps its own token cache).",
        "#",
        "# Written by the fmapi.coding_agents.token_helper Ansible module: changes are overwritten on",
        "# its next run. Copyright (c) fmapi.coding_agents contributors; GNU General Public License v3.0+",
        "# (see https://www.gnu.org/licenses/gpl-3.0.txt). SPDX-License-Identifier: GPL-3.0-or-later",
    ]
    if shebang_safe(interpreter):
        docstring = ['"""Token helper for Claude Code (apiKeyHelper): see the comments above."""']
    else:
        # sh runs the exec line; for Python the three lines are the module docstring.
        docstring = ["''':'", "exec %s \"$0\" \"$@\"" % shlex.quote(interpreter), "'''"]
    footer = [
        "",
        "",
        "HELPER_CONFIG = " + _python_literal(config),
        "",
        'if __name__ == "__main__":',
        "    sys.exit(token_helper_main(HELPER_CONFIG))",
        "",
    ]
    return ("\n".join(header + docstring) + "\n" + _FUTURE_LINE + "\n" + helper_body().rstrip("\n") + "\n"
            + "\n".join(footer))


def helper_command(path: str) -> str:
    """The ``apiKeyHelper`` value that runs the helper at ``path`` (Claude Code runs it with /bin/sh -c)."""
    return shlex.quote(path)
