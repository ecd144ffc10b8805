# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shell-rc wrapper blocks older FMAPI setup scripts added. Private to the collection.

Those scripts put a shell function between ``# >>> NAME wrapper >>>`` and ``# <<< NAME wrapper <<<``
into the user's shell startup files. The function created personal access tokens; with the token
helper it must go. Used by shell_wrappers (removes the blocks) and claude_code_info (reports them,
so that a setup runs the removal only when there is something to remove).
"""

from __future__ import annotations

import re
import typing as t

RC_FILES = ("~/.zshrc", "~/.bashrc", "~/.bash_profile", "~/.zprofile", "~/.profile")
WRAPPER_NAMES = ("fmapi-claude", "claude_fmapi", "dbx-fmapi-claude")

_BEGIN = re.compile(rb"^# >>> (?P<name>\S+) wrapper >>>[ \t]*\r?$")
_END = b"# <<< %s wrapper <<<"
# Marks of those scripts in a block's body, for wrappers created under a custom command name.
_SIGNATURES = (b"_fmapi_meta", b"Claude Code FMAPI")


class Block(t.NamedTuple):
    """A removable block: its byte range (with the blank line before it), its name and its line numbers."""

    start: int
    end: int
    name: str
    first_line: int
    last_line: int


def find_blocks(data: bytes, names: t.Iterable[str] = WRAPPER_NAMES) -> t.Tuple[t.List[Block], t.List[str]]:
    """``(blocks, warnings)``: the wrapper blocks of older FMAPI setups in ``data``.

    A block of one of ``names``, or whose body carries a mark of those scripts, is removable. Blocks of
    other tools (``# >>> conda initialize >>>``) never are. A block without its end line is not
    removable either (removing it could remove the rest of the file): it is a warning.
    """
    lines = data.splitlines(keepends=True)
    offsets, position = [], 0
    for line in lines:
        offsets.append(position)
        position += len(line)
    wanted = {name.encode("utf-8") for name in names}
    blocks, warnings = [], []  # type: t.Tuple[t.List[Block], t.List[str]]
    index = 0
    while index < len(lines):
        match = _BEGIN.match(lines[index].rstrip(b"\n"))
        if not match:
            index += 1
            continue
        name = match.group("name")
        end_line = _END % name
        end = next((j for j in range(index + 1, len(lines)) if lines[j].rstrip(b"\r\n").rstrip() == end_line), None)
        if end is None:
            warnings.append("%s wrapper at line %d has no end line" % (name.decode("utf-8", "replace"), index + 1))
            index += 1
            continue
        body = b"".join(lines[index:end + 1])
        if name in wanted or any(signature in body for signature in _SIGNATURES):
            start = index
            # The script wrote an empty line before its block.
            if start > 0 and lines[start - 1].strip() == b"":
                start -= 1
            blocks.append(Block(offsets[start], offsets[end] + len(lines[end]), name.decode("utf-8", "replace"),
                                index + 1, end + 1))
        index = end + 1
    return blocks, warnings


def remove_blocks(data: bytes, blocks: t.Iterable[Block]) -> bytes:
    """``data`` without the given blocks."""
    kept, position = [], 0
    for block in blocks:
        kept.append(data[position:block.start])
        position = block.end
    kept.append(data[position:])
    return b"".join(kept)
