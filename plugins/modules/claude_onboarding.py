#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: claude_onboarding
short_description: Mark Claude Code's first-run onboarding as done
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Sets C(hasCompletedOnboarding) to V(true) in Claude Code's state file (V(~/.claude.json)), so the first
    start goes straight to work instead of asking the user to log in to an Anthropic account they do not need
    with Databricks Foundation Model API.
  - Everything else in the file (Claude Code keeps projects, history and caches there) stays as it is, in its
    order and indentation. A file that already has the flag is not touched.
  - A file that is not valid JSON, or not a JSON object, makes the module fail without changing it.
  - Writes are atomic and keep the file's mode; a new file gets V(0600). A symlinked file is written through.
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  path:
    description: Claude Code's state file.
    type: path
    default: ~/.claude.json
"""

EXAMPLES = r"""
- name: Skip Claude Code's first-run login screen
  fmapi.coding_agents.claude_onboarding:
"""

RETURN = r"""
path:
  description: The state file.
  returned: always
  type: str
  sample: /home/dev/.claude.json
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils._claude_settings import (
    CLAUDE_STATE_FILE,
    ONBOARDING_FLAG,
    SettingsError,
    parse_settings,
    render_settings,
)
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import atomic_write, mode_of, read_bytes


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", default=CLAUDE_STATE_FILE)),
                           supports_check_mode=True)
    path = module.params["path"]
    try:
        raw = read_bytes(path)
    except OSError as exc:
        module.fail_json(msg="Cannot read %s: %s. Claude Code keeps its own state there; make it readable and "
                             "writable by you (chmod u+rw %s) and run again, or skip this step with "
                             "claude_code_skip_onboarding=false. Nothing was changed."
                             % (path, to_native(exc.strerror or exc), path), path=path)
    try:
        parsed = parse_settings(raw, path)
    except SettingsError as exc:
        module.fail_json(msg="%s. Claude Code keeps its own state in this file, so it is left as it is: "
                             "fix or move it, then run again." % exc.message, path=path)
    had_flag = ONBOARDING_FLAG in parsed.data
    before = parsed.data.get(ONBOARDING_FLAG)
    if before is True:
        module.exit_json(changed=False, path=path)
    parsed.data[ONBOARDING_FLAG] = True
    new_raw = render_settings(parsed.data, parsed.indent, parsed.bom)
    result = dict(changed=True, path=path)
    if module._diff:
        # Only the flag: the rest of the file is Claude Code's own state (projects, history, account).
        result["diff"] = dict(
            before_header="%s (only %s; the rest of the file stays as it is)" % (path, ONBOARDING_FLAG),
            after_header=path,
            before="" if raw is None else json.dumps({ONBOARDING_FLAG: before} if had_flag else {}) + "\n",
            after=json.dumps({ONBOARDING_FLAG: True}) + "\n")
    if not module.check_mode:
        try:
            atomic_write(module, path, new_raw, mode_of(path) or 0o600)
        except OSError as exc:
            module.fail_json(msg="Cannot write %s: %s. Nothing was changed; make it writable by you (chmod u+rw %s) "
                                 "and run again." % (path, to_native(exc.strerror or exc), path), path=path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
