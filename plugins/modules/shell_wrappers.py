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

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import atomic_write, mode_of, read_bytes

BEGIN = re.compile(rb"^# >>> (?P<name>\S+) wrapper >>>[ \t]*\r?$")
END = b"# <<< %s wrapper <<<"
SIGNATURES = (b"_fmapi_meta", b"Claude Code FMAPI")


def find_blocks(data: bytes, names: list) -> tuple:
    """([(start, end, name, first_line, last_line)], warnings): byte ranges of removable blocks."""
    lines = data.splitlines(keepends=True)
    offsets, position = [], 0
    for line in lines:
        offsets.append(position)
        position += len(line)
    wanted = {name.encode("utf-8") for name in names}
    blocks, warnings = [], []
    index = 0
    while index < len(lines):
        match = BEGIN.match(lines[index].rstrip(b"\n"))
        if not match:
            index += 1
            continue
        name = match.group("name")
        end_line = END % name
        end = next((j for j in range(index + 1, len(lines)) if lines[j].rstrip(b"\r\n").rstrip() == end_line), None)
        if end is None:
            warnings.append("%s wrapper at line %d has no end line" % (name.decode("utf-8", "replace"), index + 1))
            index += 1
            continue
        body = b"".join(lines[index:end + 1])
        if name in wanted or any(signature in body for signature in SIGNATURES):
            start = index
            # The script wrote an empty line before its block.
            if start > 0 and lines[start - 1].strip() == b"":
                start -= 1
            blocks.append((offsets[start], offsets[end] + len(lines[end]), name.decode("utf-8", "replace"),
                           index + 1, end + 1))
        index = end + 1
    return blocks, warnings


def remove_blocks(data: bytes, blocks: list) -> bytes:
    """data without the given byte ranges."""
    kept, position = [], 0
    for start, end, _name, _first, _last in blocks:
        kept.append(data[position:start])
        position = end
    kept.append(data[position:])
    return b"".join(kept)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path",
                       default=["~/.zshrc", "~/.bashrc", "~/.bash_profile", "~/.zprofile", "~/.profile"]),
            names=dict(type="list", elements="str", default=["fmapi-claude", "claude_fmapi", "dbx-fmapi-claude"]),
            backup=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    removed, backups, warnings, diffs = [], [], [], []
    for path in module.params["paths"]:
        data = read_bytes(path)
        if data is None:
            continue
        blocks, file_warnings = find_blocks(data, module.params["names"])
        warnings.extend("%s: %s" % (path, warning) for warning in file_warnings)
        if not blocks:
            continue
        new_data = remove_blocks(data, blocks)
        removed.extend(dict(path=path, name=name, lines=[first, last]) for _s, _e, name, first, last in blocks)
        if module._diff:
            diffs.append(dict(before_header=path, after_header=path,
                              before=data.decode("utf-8", "replace"), after=new_data.decode("utf-8", "replace")))
        if module.check_mode:
            continue
        if module.params["backup"]:
            backups.append(module.backup_local(path))
        atomic_write(module, path, new_data, mode_of(path) or 0o644)
    for warning in warnings:
        module.warn(warning)
    result = dict(changed=bool(removed), removed=removed, backup_files=backups, unterminated=warnings)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
