#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: shell_wrappers
short_description: Remove the shell-rc wrapper functions older FMAPI setup scripts added
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Older versions of the FMAPI setup script added a shell function to C(~/.zshrc) or C(~/.bashrc) between
    the lines C(# >>> NAME wrapper >>>) and C(# <<< NAME wrapper <<<). The function created personal access
    tokens and exported them before starting C(claude). With the token helper it is not needed, and it would
    keep creating tokens, so this module removes those blocks.
  - A block is removed when its C(NAME) is one of O(names), or when its body carries a mark of those scripts
    (C(_fmapi_meta) or C(Claude Code FMAPI)), so wrappers the script created under a custom command name go too.
    Blocks of other tools (for example C(# >>> conda initialize >>>)) are never touched.
  - The rest of each file stays byte for byte, and so do its mode and owner. The blank line the script put
    before its block goes with it. Writes are atomic; a symlinked rc file is written through.
  - A block with a begin line but no end line is left alone, because removing it could remove the rest of
    the user's file. It is reported in RV(unterminated) and as a warning.
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
  paths:
    description: The shell startup files to clean. Missing files are skipped.
    type: list
    elements: path
    default: [~/.zshrc, ~/.bashrc, ~/.bash_profile, ~/.zprofile, ~/.profile]
  names:
    description: Wrapper names removed whatever their body holds.
    type: list
    elements: str
    default: [fmapi-claude, claude_fmapi, dbx-fmapi-claude]
  backup:
    description: Keep a timestamped copy of each file before changing it.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Remove the shell wrappers of older FMAPI setups
  fmapi.coding_agents.shell_wrappers:
  register: wrappers

- name: Say what went
  ansible.builtin.debug:
    msg: "Removed {{ wrappers.removed | map(attribute='name') | join(', ') }}"
  when: wrappers.changed
"""

RETURN = r"""
removed:
  description: The blocks removed (or that would be, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    name:
      description: The wrapper's name.
      type: str
    lines:
      description: The block's first and last line numbers (1-based) in the file before the change.
      type: list
      elements: int
  sample: [{path: /home/dev/.zshrc, name: fmapi-claude, lines: [12, 60]}]
backup_files:
  description: Backups made, when O(backup=true).
  returned: always
  type: list
  elements: str
unterminated:
  description: Blocks left alone because they have no end line.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import atomic_write, mode_of, read_bytes
from ansible_collections.fmapi.coding_agents.plugins.module_utils._shell_rc import (
    RC_FILES,
    WRAPPER_NAMES,
    find_blocks,
    remove_blocks,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", default=list(RC_FILES)),
            names=dict(type="list", elements="str", default=list(WRAPPER_NAMES)),
            backup=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    removed, backups, warnings, diffs = [], [], [], []
    for path in module.params["paths"]:
        try:
            data = read_bytes(path)
        except OSError as exc:
            module.fail_json(msg="Cannot read %s: %s. It may hold a wrapper of an older FMAPI setup that must go; "
                                 "make it readable (chmod u+r %s) and run again. Nothing was changed in it."
                                 % (path, to_native(exc.strerror or exc), path), removed=removed)
        if data is None:
            continue
        blocks, file_warnings = find_blocks(data, module.params["names"])
        warnings.extend("%s: %s" % (path, warning) for warning in file_warnings)
        if not blocks:
            continue
        new_data = remove_blocks(data, blocks)
        removed.extend(dict(path=path, name=block.name, lines=[block.first_line, block.last_line]) for block in blocks)
        if module._diff:
            diffs.append(dict(before_header=path, after_header=path,
                              before=data.decode("utf-8", "replace"), after=new_data.decode("utf-8", "replace")))
        if module.check_mode:
            continue
        try:
            if module.params["backup"]:
                backups.append(module.backup_local(path))
            atomic_write(module, path, new_data, mode_of(path) or 0o644)
        except OSError as exc:
            module.fail_json(msg="Cannot write %s: %s. Nothing was changed in it; remove the block between "
                                 "'# >>> NAME wrapper >>>' and '# <<< NAME wrapper <<<' yourself, or fix the "
                                 "permissions and run again." % (path, to_native(exc.strerror or exc)), removed=removed)
    for warning in warnings:
        module.warn(warning)
    result = dict(changed=bool(removed), removed=removed, backup_files=backups, unterminated=warnings)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
