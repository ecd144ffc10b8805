#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: gemini_launcher
short_description: Write the launcher that starts Gemini CLI with a fresh Databricks token
version_added: 0.3.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Gemini CLI has no token helper. It reads C(GEMINI_API_KEY) once, at start. This module writes a small
    C(/bin/sh) script that the user types as C(gemini) (put it in a folder that comes before the real Gemini CLI
    on E(PATH)).
  - Each start, the script runs the token helper (M(fmapi.coding_agents.token_helper)) and reads the token it
    prints. It exports C(GOOGLE_GEMINI_BASE_URL) (the workspace's Gemini route), C(GEMINI_API_KEY) (the token),
    C(GEMINI_API_KEY_AUTH_MECHANISM=bearer), C(GEMINI_MODEL) and C(GEMINI_CLI_CUSTOM_HEADERS). Then it replaces
    itself with the real Gemini CLI (C(exec)), passing every argument on unchanged. The process environment beats
    a project's C(.env) file, so a repository cannot send the token elsewhere or switch the model.
  - Gemini CLI keeps that token for the whole session, so the launcher has the helper check it with the workspace
    first (E(FMAPI_TOKEN_HELPER_VERIFY=1), one request). A token the workspace revoked before it expired is
    replaced, not handed out again.
  - The token is never written anywhere. It lives only in the environment of the Gemini CLI process (and of the
    commands Gemini CLI runs, unless C(security.environmentVariableRedaction.enabled) is true in its settings).
  - When the helper fails (the Databricks login has ended and no browser can open, the workspace is down), its
    message is shown, followed by one line with the fix. The script then exits non-zero without starting Gemini
    CLI. A missing Gemini CLI or helper gets its own message; a O(gemini) that has since turned into a launcher is
    refused rather than started in a loop.
  - "A session that outlives its token: Gemini CLI does not refresh the token and does not retry. A session still
    running after the token has expired (Databricks OAuth access tokens live about an hour; the helper hands out
    one that lives at least its C(ttl_minutes) plus five minutes) fails with HTTP 401 on its next request. Quit
    it and run C(gemini --resume latest). The launcher fetches a fresh token and Gemini CLI continues the
    conversation it saved automatically, up to the last answer; ask the question that failed again. C(/resume)
    inside Gemini CLI lists the saved sessions."
  - "The script carries a metadata line (C(# fmapi-coding-agents-launcher: {...})) with its settings, none of
    them secret. M(fmapi.coding_agents.gemini_info) reads it without running anything. O(state=absent) removes
    only a file that carries it."
  - Mode V(0755), because the script holds no secret (paths, the workspace URL, the model), like the other
    programs in a C(bin) folder. A missing folder is created with mode V(0755).
  - The launcher does not set E(GEMINI_CLI_TRUST_WORKSPACE). Whether a folder is trusted is the user's decision,
    which Gemini CLI asks for itself. Headless runs (C(gemini -p)) in a folder not trusted yet need C(--skip-trust)
    (or E(GEMINI_CLI_TRUST_WORKSPACE=true), which the collection's tests set).
options:
  state:
    description:
      - V(present) writes the launcher.
      - V(absent) removes it, if it carries this collection's metadata line; any other file is left alone, with a
        warning.
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - Where the launcher goes, usually C(gemini) in a folder that comes before the real Gemini CLI on E(PATH).
      - An existing file there that is not a launcher of this collection (the real Gemini CLI, or npm's link to
        it) is never replaced; the module fails and says so.
    type: path
    default: ~/.local/bin/gemini
  gemini:
    description:
      - Absolute path of the real Gemini CLI (the C(gemini) npm installed, or its C(bundle/gemini.js)), 0.40.0 or
        newer. It is started by this path, so the launcher does not depend on E(PATH).
      - Refused when it is O(path) itself, or a launcher of this collection, because the launcher would start
        itself over and over.
      - Required when O(state=present).
    type: path
  token_helper:
    description:
      - Absolute path of the token helper script (RV(fmapi.coding_agents.token_helper#module:path)).
      - Required when O(state=present).
    type: path
  host:
    description:
      - The Databricks workspace URL, for example V(https://my-workspace.cloud.databricks.com).
      - A URL copied from the browser is reduced to the workspace URL; anything no URL holds is refused.
      - Required when O(state=present).
    type: str
  endpoint_style:
    description:
      - V(serving-endpoints) makes C(GOOGLE_GEMINI_BASE_URL) C(<host>/serving-endpoints/gemini).
      - V(ai-gateway) makes it C(<host>/ai-gateway/gemini).
      - Gemini CLI appends C(/v1beta/models/<model>:streamGenerateContent) itself.
    type: str
    choices: [serving-endpoints, ai-gateway]
    default: serving-endpoints
  model:
    description:
      - The serving endpoint Gemini CLI uses (C(GEMINI_MODEL)). It beats C(model.name) in any settings file;
        C(gemini -m <endpoint>) beats it for one session.
    type: str
    default: databricks-gemini-2-5-pro
  custom_headers:
    description:
      - HTTP headers Gemini CLI adds to every request (C(GEMINI_CLI_CUSTOM_HEADERS)), as name and value.
      - By default the header that tells Databricks that a coding agent calls, as for Claude Code. V({}) sends
        none (the variable is still exported, empty, so that no C(.env) file can add any).
      - Values are single lines without commas. Names that look like credentials (C(Authorization),
        C(x-goog-api-key), anything with C(token), C(key), C(secret), ...) are refused. The launcher sends the
        token itself, and the script is readable by others.
    type: dict
    default: {x-databricks-use-coding-agent-mode: "true"}
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the launcher's text.
  idempotent:
    support: full
seealso:
  - module: fmapi.coding_agents.token_helper
  - module: fmapi.coding_agents.gemini_settings
  - module: fmapi.coding_agents.gemini_info
"""

EXAMPLES = r"""
- name: Write the token helper
  fmapi.coding_agents.token_helper:
    host: https://my-workspace.cloud.databricks.com
  register: fmapi_helper

- name: Put the launcher where the user types gemini
  fmapi.coding_agents.gemini_launcher:
    path: "{{ ansible_facts['user_dir'] }}/.local/bin/gemini"
    gemini: "{{ ansible_facts['user_dir'] }}/.local/share/fmapi/gemini-cli/node_modules/.bin/gemini"
    token_helper: "{{ fmapi_helper.path }}"
    host: https://my-workspace.cloud.databricks.com
    endpoint_style: ai-gateway
    model: databricks-gemini-2-5-flash

- name: Remove it
  fmapi.coding_agents.gemini_launcher:
    state: absent
"""

RETURN = r"""
path:
  description: The launcher, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.local/bin/gemini
gemini:
  description: The real Gemini CLI the launcher starts.
  returned: when O(state=present)
  type: str
  sample: /home/dev/.local/share/fmapi/gemini-cli/node_modules/.bin/gemini
token_helper:
  description: The token helper the launcher runs.
  returned: when O(state=present)
  type: str
  sample: /home/dev/.claude/fmapi-token-helper
base_url:
  description: C(GOOGLE_GEMINI_BASE_URL) as the launcher exports it.
  returned: when O(state=present)
  type: str
  sample: https://my-workspace.cloud.databricks.com/serving-endpoints/gemini
model:
  description: C(GEMINI_MODEL) as the launcher exports it.
  returned: when O(state=present)
  type: str
  sample: databricks-gemini-2-5-pro
custom_headers:
  description: C(GEMINI_CLI_CUSTOM_HEADERS) as the launcher exports it.
  returned: when O(state=present)
  type: str
  sample: "x-databricks-use-coding-agent-mode: true"
removed:
  description: Whether a launcher was removed (or would be, in check mode).
  returned: always
  type: bool
  sample: false
"""

import os
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _gemini as gm
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import (
    expand,
    mode_of,
    read_text,
    remove_file,
    replace_or_remove,
    write_target,
)
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import read_helper_metadata


class GeminiLauncher:
    """One run of the module."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params
        self.path = expand(self.params["path"])
        self.result: t.Dict[str, t.Any] = dict(changed=False, path=self.path, removed=False)

    def fail(self, msg: str) -> t.NoReturn:
        self.module.fail_json(msg=msg, **self.result)
        raise AssertionError("unreachable")  # fail_json exits

    def existing(self) -> t.Tuple[t.Optional[str], bool]:
        """The text at ``path`` (None when missing) and whether it is a launcher of this collection."""
        if os.path.isdir(self.path):
            self.fail("%s is a directory; path must name the launcher file, e.g. %s/gemini" % (self.path, self.path))
        if os.path.islink(self.path) and not os.path.exists(self.path):
            return "", False
        try:
            text = read_text(self.path)
        except UnicodeDecodeError:
            return "", False
        except OSError as exc:
            self.fail("Cannot read %s: %s" % (self.path, to_native(exc.strerror or exc)))
        return text, text is not None and gm.launcher_metadata(text) is not None

    def diff(self, before: t.Optional[str], after: t.Optional[str]) -> None:
        if self.module._diff:  # pylint: disable=protected-access
            self.result["diff"] = dict(before=before or "", after=after or "",
                                       before_header=self.path if before is not None else "%s (absent)" % self.path,
                                       after_header=self.path if after is not None else "%s (absent)" % self.path)

    # ---------------------------------------------------------------------------------- inputs

    def executable(self, option: str, path: str) -> None:
        if ws.is_executable_file(path):
            return
        if self.module.check_mode and not os.path.lexists(path):
            self.module.warn("%s %s does not exist (yet); the launcher will not work until it does." % (option, path))
            return
        self.fail("%s %s does not exist or is not an executable file." % (option, path))

    def validated(self) -> t.Dict[str, str]:
        params = self.params
        try:
            # Ansible expanded ~ and variables already; a relative path would depend on where gemini is started.
            gemini = os.path.normpath(gm.check_launcher_path("gemini", params["gemini"]))
            token_helper = os.path.normpath(gm.check_launcher_path("token_helper", params["token_helper"]))
            host = ws.parse_host(params["host"])
            model = ws.validate_model("model", params["model"])
            headers = gm.validate_custom_headers(params["custom_headers"])
        except ws.ValidationError as exc:
            self.fail(str(exc))
        if host.note:
            self.module.warn(host.note)
        if gemini == self.path or gm.same_file(gemini, self.path):
            self.fail("gemini %s is the launcher itself (its path, or a link to it): give the real Gemini CLI (for "
                      "example the gemini that npm installed), or put the launcher elsewhere with path." % gemini)
        if gm.read_launcher_metadata(gemini) is not None:
            self.fail("gemini %s is a Gemini launcher of this collection, not Gemini CLI; it would start itself over "
                      "and over. Give the real Gemini CLI (the launcher's second line names the one it starts)."
                      % gemini)
        self.executable("gemini", gemini)
        self.executable("token_helper", token_helper)
        if os.path.isfile(token_helper):
            try:
                helper_text = read_text(token_helper) or ""
            except (OSError, UnicodeDecodeError):
                helper_text = ""
            if not read_helper_metadata(helper_text):
                self.module.warn("token_helper %s is not the token helper of this collection; the launcher runs it "
                                 "anyway and uses what it prints on standard output as the token." % token_helper)
        return dict(gemini=gemini, token_helper=token_helper, host=host.url, endpoint_style=params["endpoint_style"],
                    model=model, custom_headers=headers)

    # ---------------------------------------------------------------------------------- states

    def present(self) -> None:
        existing, ours = self.existing()
        if existing is not None and not ours:
            self.fail("%s exists and is not a Gemini launcher of this collection (%s); it was left alone. Move it "
                      "away if it is yours, or choose another path for the launcher (one that comes before the real "
                      "Gemini CLI on PATH)." % (self.path, _describe(self.path)))
        values = self.validated()
        text = gm.render_launcher(**values)
        self.result.update(gemini=values["gemini"], token_helper=values["token_helper"], model=values["model"],
                           base_url=ws.agent_base_url(values["host"], ws.AGENT_GEMINI, values["endpoint_style"]),
                           custom_headers=values["custom_headers"])
        content_changed = existing != text
        mode_changed = existing is not None and mode_of(self.path) != gm.LAUNCHER_MODE
        if content_changed:
            self.diff(existing, text)
        if not (content_changed or mode_changed):
            return
        self.result["changed"] = True
        if self.module.check_mode:
            return
        try:
            if content_changed:
                replace_or_remove(self.module, self.path, text, gm.LAUNCHER_MODE, gm.LAUNCHER_DIRECTORY_MODE)
            else:
                os.chmod(write_target(self.path), gm.LAUNCHER_MODE)
        except OSError as exc:
            self.fail("Cannot write the launcher %s: %s" % (self.path, to_native(exc.strerror or exc)))

    def absent(self) -> None:
        if not os.path.lexists(self.path):
            return
        existing, ours = self.existing()
        if not ours:
            self.module.warn("%s is not a Gemini launcher of this collection (%s); it was left alone."
                             % (self.path, _describe(self.path)))
            return
        self.diff(existing, None)
        self.result.update(changed=True, removed=True)
        if self.module.check_mode:
            return
        try:
            remove_file(self.path)
        except OSError as exc:
            self.fail("Cannot remove the launcher %s: %s" % (self.path, to_native(exc.strerror or exc)))

    def run(self) -> t.Dict[str, t.Any]:
        if self.params["state"] == "present":
            self.present()
        else:
            self.absent()
        return self.result


def _describe(path: str) -> str:
    if os.path.islink(path):
        return "a link to %s" % os.path.realpath(path)
    return "a file of %d bytes" % os.path.getsize(path) if os.path.isfile(path) else "not a regular file"


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            path=dict(type="path", default=gm.DEFAULT_LAUNCHER_PATH),
            gemini=dict(type="path"),
            token_helper=dict(type="path"),
            host=dict(type="str"),
            endpoint_style=dict(type="str", choices=list(ws.ENDPOINT_STYLES), default=ws.ENDPOINT_STYLE_SERVING_ENDPOINTS),
            model=dict(type="str", default=ws.DEFAULT_GEMINI_MODEL),
            custom_headers=dict(type="dict", default=dict(gm.DEFAULT_CUSTOM_HEADERS)),
        ),
        required_if=[("state", "present", ("gemini", "token_helper", "host"))],
        supports_check_mode=True,
    )
    module.exit_json(**GeminiLauncher(module).run())


if __name__ == "__main__":
    main()
