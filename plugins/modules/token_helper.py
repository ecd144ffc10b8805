#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: token_helper
short_description: Write the token helper every coding agent runs to get a Databricks OAuth token
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Writes a self-contained script that prints a Databricks OAuth (U2M) access token of one Databricks CLI profile
    on standard output, for Claude Code's C(apiKeyHelper) setting. Returns in RV(command) the exact value to put
    into C(apiKeyHelper) (see M(fmapi.coding_agents.claude_settings)).
  - "Each time Claude Code runs it (every C(CLAUDE_CODE_API_KEY_HELPER_TTL_MS) and after an HTTP 401), the
    helper asks C(databricks auth token --profile PROFILE --output json) by the absolute path of the CLI. When the
    token lives less than O(ttl_minutes) plus five minutes, it asks again with C(--force-refresh). It prints the
    token and nothing else on standard output."
  - The helper runs the CLI without any C(DATABRICKS_*) environment variable that would override the profile
    (C(DATABRICKS_TOKEN), C(DATABRICKS_HOST), C(DATABRICKS_CONFIG_PROFILE), C(DATABRICKS_CLIENT_ID),
    C(DATABRICKS_AUTH_TYPE) and all others). It keeps C(DATABRICKS_AUTH_STORAGE) and C(DATABRICKS_CONFIG_FILE),
    which only say where the CLI keeps the profile and its tokens.
  - "When the login session has ended (the refresh token is invalid, or the profile has no cached login) and a
    browser can open (C(BROWSER) is set, or C(DISPLAY) or C(WAYLAND_DISPLAY) on Linux, or a macOS desktop session
    that is not an SSH login), the helper runs C(databricks auth login --host HOST --profile PROFILE), gives up
    after O(login_timeout) seconds, and then prints the new token. Otherwise it prints on standard error the
    command that fixes it, C(databricks auth login --host HOST --profile PROFILE), and exits with status 1.
    Parallel helpers wait for one login instead of each opening a browser."
  - The helper stores no token anywhere and writes nothing but to standard output and standard error; the
    Databricks CLI keeps its own token cache (the OS keyring, or C(~/.databricks/token-cache.json) with
    C(DATABRICKS_AUTH_STORAGE=plaintext)).
  - Values never reach a shell. The profile must match C(^[A-Za-z0-9_-]+$) and the host must be an C(https://)
    URL with only a host name and an optional port; the helper passes them to the CLI as separate arguments.
  - Removes C(.fmapi-pat-cache) beside the helper, where older setup scripts cached a personal access token, and
    reports it in RV(removed_legacy). The token itself is not revoked here.
  - The helper's second line carries its settings (profile, host, CLI path, TTL, interpreter) as a metadata comment
    that M(fmapi.coding_agents.claude_code_info) reads back; M(fmapi.coding_agents.claude_code_info) runs
    only a helper that carries it.
options:
  state:
    description:
      - V(present) writes the helper (and removes the legacy cache).
      - V(absent) removes the helper, its state file and the legacy cache.
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - Where the helper goes. A missing parent directory is created with mode V(0700).
      - A symlink is kept and the file it points to is written.
    type: path
    default: ~/.local/share/fmapi-coding-agents/fmapi-token-helper
  profile:
    description:
      - The Databricks CLI profile (a section of C(~/.databrickscfg), or of E(DATABRICKS_CONFIG_FILE)) whose token
        the helper prints.
      - Letters, digits, V(_) and V(-) only.
    type: str
    default: fmapi-claudecode-profile
  host:
    description:
      - The workspace URL, used when the helper has to log in again, for example V(https://my-workspace.cloud.databricks.com).
      - Must start with V(https://). A URL copied from the browser is reduced to the workspace URL (scheme, host
        name and port).
      - Required when O(state=present).
    type: str
  databricks_cli:
    description:
      - Absolute path of the Databricks CLI the helper runs.
      - By default the first C(databricks) on E(PATH) or in C(~/.local/bin), C(/opt/homebrew/bin),
        C(/usr/local/bin) and C(~/bin) that is the Databricks CLI (the legacy Python C(databricks-cli) is skipped).
      - The path is kept as found, not resolved through symlinks, so that a Homebrew upgrade does not break it.
    type: path
  ttl_minutes:
    description:
      - How long Claude Code uses a token before running the helper again (C(CLAUDE_CODE_API_KEY_HELPER_TTL_MS)
        in minutes). The helper prints only tokens that live at least this long plus five minutes, when the
        workspace issues them.
    type: int
    default: 30
  login_timeout:
    description:
      - Seconds the helper waits for a browser login to finish before it gives up, from 10 to 3600.
      - Claude Code waits for the helper meanwhile.
    type: int
    default: 120
  scope:
    description:
      - V(user) writes a helper for the user running the module, mode V(0700) in a V(0700) folder.
      - V(managed) writes the helper that managed settings name for every user of the machine (O(path)
        V(/usr/local/libexec/fmapi-coding-agents/fmapi-token-helper)), mode V(0755) in V(0755) folders; run it as
        root. A bare command name in O(databricks_cli) (V(databricks)) is then kept as it is, and the helper looks
        for the Databricks CLI when it runs, on E(PATH) and where installers put it in the home folder of whoever
        runs it. Its state file goes to C(~/.local/state/fmapi-coding-agents/) of that user, since the helper's
        own folder is not theirs to write.
    type: str
    choices: [user, managed]
    default: user
    version_added: 0.3.0
  interpreter:
    description:
      - The Python (3.8 or newer) the helper tries first, as an absolute path or a command name looked up on
        E(PATH) when the module runs.
      - By default a system Python at a stable path (C(/usr/bin/python3), C(/opt/homebrew/bin/python3),
        C(/usr/local/bin/python3), in that order; on macOS C(/usr/bin/python3) only when the Command Line Tools are
        installed), else the Python this module runs under.
      - The helper does not depend on it. It starts as a C(/bin/sh) launcher that runs the first of this
        interpreter, C(python3) on E(PATH), C(/usr/bin/python3), C(/opt/homebrew/bin/python3) and
        C(/usr/local/bin/python3) that is Python 3.8 or newer. Deleting or upgrading the Python Ansible ran with
        (its virtual environment, a pipx or Homebrew installation) does not break Claude Code's C(apiKeyHelper).
    type: path
notes:
  - The helper's token logic is Python rather than C(sh) because it must compare an RFC 3339 expiry with
    nanoseconds to the current time portably; BSD C(date) on macOS and GNU C(date) disagree on parsing it.
    A Python 3.8 or newer is on every machine Ansible manages, since its modules need one.
  - "A token the workspace stopped accepting while the CLI's cache still holds it as valid (revoked, rotated,
    clock skew) is not served again. When a call repeats the token served less than two minutes before (what
    Claude Code and Codex do after an HTTP 401), the helper asks the workspace (C(GET /api/2.0/preview/scim/v2/Me))
    and, on a 401, has the CLI refresh it, or logs in again where a browser can open. Its state file,
    C(.<helper name>.state) beside it (mode V(0600)), holds only a fingerprint of the last token and the time;
    O(state=absent) removes it too."
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the helper script's text.
  idempotent:
    support: full
seealso:
  - module: fmapi.coding_agents.databricks_oauth
  - module: fmapi.coding_agents.claude_settings
  - module: fmapi.coding_agents.claude_code_info
  - name: Claude Code settings
    description: The apiKeyHelper setting and CLAUDE_CODE_API_KEY_HELPER_TTL_MS.
    link: https://docs.anthropic.com/en/docs/claude-code/settings
"""

EXAMPLES = r"""
- name: Write the token helper
  fmapi.coding_agents.token_helper:
    host: https://my-workspace.cloud.databricks.com
    profile: fmapi-claudecode-profile
    ttl_minutes: 30
  register: fmapi_helper

- name: Point Claude Code at it
  fmapi.coding_agents.claude_settings:
    host: https://my-workspace.cloud.databricks.com
    api_key_helper: "{{ fmapi_helper.command }}"

- name: Use a CLI installed somewhere else, run by the system Python
  fmapi.coding_agents.token_helper:
    host: https://adb-1234567890123456.7.azuredatabricks.net
    databricks_cli: /opt/tools/bin/databricks
    interpreter: /usr/bin/python3

- name: Remove the helper
  fmapi.coding_agents.token_helper:
    state: absent
"""

RETURN = r"""
path:
  description: The helper script, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.local/share/fmapi-coding-agents/fmapi-token-helper
command:
  description:
    - The exact value for Claude Code's C(apiKeyHelper) setting, quoted for C(/bin/sh) when the path needs it.
  returned: when O(state=present)
  type: str
  sample: /home/dev/.local/share/fmapi-coding-agents/fmapi-token-helper
databricks_cli:
  description: The Databricks CLI the helper runs.
  returned: when O(state=present)
  type: str
  sample: /opt/homebrew/bin/databricks
cli_version:
  description: The version of that CLI, or V(null) when it could not be run (only in check mode).
  returned: when O(state=present)
  type: str
  sample: 1.12.1
interpreter:
  description: The Python the helper tries first.
  returned: when O(state=present)
  type: str
  sample: /usr/bin/python3
interpreter_reason:
  description: Why that Python was chosen, when O(interpreter) was not given.
  returned: when O(state=present) and O(interpreter) is not given
  type: str
  sample: the system Python
removed_legacy:
  description:
    - Leftovers of older setup scripts that were removed (or would be, in check mode), as absolute paths.
  returned: always
  type: list
  elements: str
  sample: [/home/dev/.claude/.fmapi-pat-cache]
removed_folders:
  description:
    - With O(scope=managed) and O(state=absent), the folders made for the managed file that were removed with it
      because nothing else was left in them.
  returned: when a managed file was removed
  type: list
  elements: str
  sample: [/etc/claude-code/managed-settings.d, /etc/claude-code]
"""

import os
import shutil
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli as dbcli
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as managed
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _token_helper as helper
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import (
    atomic_write,
    ensure_directory,
    expand,
    mode_of,
    read_text,
    remove_empty_folders,
    remove_file,
    write_target,
)


class TokenHelper:
    """One run of the module."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params
        self.result: t.Dict[str, t.Any] = dict(changed=False, removed_legacy=[])
        self.managed = self.params["scope"] == managed.SCOPE_MANAGED
        self.helper_mode, self.directory_mode = (managed.HELPER_MODE, managed.DIRECTORY_MODE) if self.managed \
            else (helper.HELPER_MODE, helper.DIRECTORY_MODE)

    def fail(self, msg: str) -> None:
        self.module.fail_json(msg=msg, **self.result)

    # --------------------------------------------------------------------------------- inputs

    def validated_settings(self) -> t.Tuple[str, str]:
        try:
            profile = ws.validate_profile(self.params["profile"])
            host = ws.normalize_host(self.params["host"])
            ws.validate_ttl(self.params["ttl_minutes"], "ttl_minutes")
        except ws.ValidationError as exc:
            self.fail(str(exc))
            raise  # unreachable: fail_json exits
        timeout = self.params["login_timeout"]
        if not helper.MIN_LOGIN_TIMEOUT <= timeout <= helper.MAX_LOGIN_TIMEOUT:
            self.fail("login_timeout must be from %d to %d seconds, got %d."
                      % (helper.MIN_LOGIN_TIMEOUT, helper.MAX_LOGIN_TIMEOUT, timeout))
        return profile, host

    def interpreter(self) -> str:
        given = self.params["interpreter"]
        if not given:
            interpreter, why = helper.choose_interpreter()
            self.result["interpreter_reason"] = why
            if not interpreter:
                self.fail("The Python running this module does not know its own path; set interpreter.")
        elif os.sep not in given:
            interpreter = shutil.which(given) or ""
            if not interpreter:
                self.fail("interpreter %s was not found on PATH (%s); give its absolute path."
                          % (given, os.environ.get("PATH", "")))
        else:
            interpreter = expand(given)
        try:
            helper.check_interpreter_path(interpreter)
        except ws.ValidationError as exc:
            self.fail(str(exc) if given else "%s Set interpreter to another path of this Python." % exc)
        if given:
            self.check_python(interpreter)
        return interpreter

    def check_python(self, interpreter: str) -> None:
        if not ws.is_executable_file(interpreter):
            self.fail("interpreter %s does not exist or is not executable." % interpreter)
        version = helper.python_version(interpreter)
        if version is None:
            self.fail("interpreter %s is not a working Python." % interpreter)
        if t.cast(t.Tuple[int, int], version) < helper.MIN_PYTHON:
            self.fail("interpreter %s is Python %d.%d; the helper needs Python %d.%d or newer."
                      % ((interpreter,) + t.cast(t.Tuple[int, int], version) + helper.MIN_PYTHON))

    def databricks_cli(self) -> t.Tuple[str, t.Optional[str]]:
        given = self.params["databricks_cli"]
        if self.managed and given and os.sep not in given:
            # Found by the helper when it runs, in the home of whoever runs it (emit_only has no CLI at all).
            found = ws.find_cli(os.environ, given)
            return given, found.version
        found = ws.find_cli(os.environ, given)
        if found.path is None:
            if given and self.module.check_mode and not os.path.lexists(expand(given)):
                self.module.warn("databricks_cli %s does not exist (yet); the helper will not work until it does."
                                 % given)
                return expand(given), None
            self.fail(t.cast(str, found.problem))
        return t.cast(str, found.path), found.version

    # ---------------------------------------------------------------------------------- state

    def remove_legacy(self, helper_path: str) -> None:
        cache = os.path.join(os.path.dirname(helper_path), helper.LEGACY_PAT_CACHE)
        if not os.path.lexists(cache):
            return
        if os.path.isdir(cache) and not os.path.islink(cache):
            self.module.warn("%s is a directory; it was left alone." % cache)
            return
        if not self.module.check_mode:
            try:
                remove_file(cache)
            except OSError as exc:
                self.fail("Cannot remove the legacy token cache %s: %s" % (cache, to_native(exc)))
        self.result["removed_legacy"].append(cache)
        self.result["changed"] = True

    def read_existing(self, path: str) -> t.Optional[str]:
        if os.path.isdir(path):
            self.fail("%s is a directory; path must name the helper file." % path)
        try:
            return read_text(path)
        except (OSError, UnicodeDecodeError) as exc:
            self.fail("Cannot read %s: %s" % (path, to_native(exc)))
            raise  # unreachable

    def diff(self, path: str, before: t.Optional[str], after: t.Optional[str]) -> None:
        if self.module._diff:  # pylint: disable=protected-access
            self.result["diff"] = dict(before=before or "", after=after or "",
                                       before_header=path if before is not None else "%s (absent)" % path,
                                       after_header=path if after is not None else "%s (absent)" % path)

    def present(self, path: str) -> None:
        profile, host = self.validated_settings()
        interpreter = self.interpreter()
        cli, version = self.databricks_cli()
        self.result.update(command=helper.helper_command(path), databricks_cli=cli, cli_version=version,
                           interpreter=interpreter)
        if version is not None and not ws.version_at_least(version, ws.MIN_CLI_VERSION):
            self.module.warn("Databricks CLI %s is older than v%s and cannot force a token refresh; the helper may "
                             "hand out tokens that expire within the TTL. Upgrade the CLI." % (version, ws.MIN_CLI_VERSION))
        text = helper.render_helper(interpreter, cli, profile, host, self.params["ttl_minutes"],
                                    self.params["login_timeout"])
        existing = self.read_existing(path)
        content_changed = existing != text
        mode_changed = existing is not None and mode_of(path) != self.helper_mode
        if content_changed:
            self.diff(path, existing, text)
        if content_changed or mode_changed:
            self.result["changed"] = True
            if not self.module.check_mode:
                self.write(path, text, content_changed)
        self.remove_legacy(path)

    def write(self, path: str, text: str, content_changed: bool) -> None:
        directory = os.path.dirname(write_target(path))
        try:
            ensure_directory(directory, self.directory_mode)
            if content_changed:
                atomic_write(self.module, path, text, self.helper_mode)
            else:
                os.chmod(write_target(path), self.helper_mode)
        except OSError as exc:
            self.fail("Cannot write the token helper %s: %s" % (path, to_native(exc)))

    def absent(self, path: str) -> None:
        if os.path.lexists(path):
            existing = None if os.path.islink(path) and not os.path.exists(path) else self.read_existing(path)
            self.diff(path, existing or "", None)
            self.result["changed"] = True
            if not self.module.check_mode:
                try:
                    remove_file(path)
                except OSError as exc:
                    self.fail("Cannot remove the token helper %s: %s" % (path, to_native(exc)))
        state = dbcli.state_file_for(path)
        if os.path.lexists(state):
            self.result["changed"] = True
            if not self.module.check_mode:
                try:
                    remove_file(state)
                except OSError as exc:
                    self.fail("Cannot remove the token helper's state file %s: %s" % (state, to_native(exc)))
        self.remove_legacy(path)
        if self.managed and not self.module.check_mode:
            self.result["removed_folders"] = remove_empty_folders(os.path.dirname(path), managed.FOLDER_LEVELS["token_helper"])

    def run(self) -> t.Dict[str, t.Any]:
        path = expand(self.params["path"])
        self.result["path"] = path
        if self.params["state"] == "present":
            self.present(path)
        else:
            self.absent(path)
        return self.result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            path=dict(type="path", default=helper.DEFAULT_HELPER_PATH),
            profile=dict(type="str", default=ws.DEFAULT_PROFILE),
            host=dict(type="str"),
            databricks_cli=dict(type="path"),
            ttl_minutes=dict(type="int", default=ws.DEFAULT_TTL_MINUTES),
            login_timeout=dict(type="int", default=helper.DEFAULT_LOGIN_TIMEOUT),
            interpreter=dict(type="path"),
            scope=dict(type="str", choices=list(managed.SCOPES), default=managed.SCOPE_USER),
        ),
        required_if=[("state", "present", ("host",))],
        supports_check_mode=True,
    )
    module.exit_json(**TokenHelper(module).run())


if __name__ == "__main__":
    main()
