# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/_shell_rc.py: finding and removing the shell-rc wrapper blocks of older
setup scripts (module shell_wrappers removes them, claude_code_info reports them)."""

from __future__ import annotations

from ansible_collections.fmapi.coding_agents.plugins.module_utils._shell_rc import (
    RC_FILES,
    WRAPPER_NAMES,
    Block,
    find_blocks,
    remove_blocks,
)

TOP = b"export PATH=$HOME/bin:$PATH\n"
FMAPI = (b"\n# >>> fmapi-claude wrapper >>>\nfmapi-claude() {\n  command claude \"$@\"\n}\n"
         b"# <<< fmapi-claude wrapper <<<\n")
CONDA = b"# >>> conda initialize >>>\n__conda_setup=x\n# <<< conda initialize <<<\n"
USER = b"\n# >>> mytool wrapper >>>\nmytool() { echo hi; }\n# <<< mytool wrapper <<<\n"
MARKED = (b"\n# >>> ai wrapper >>>\nai() {\n  jq '._fmapi_meta' ~/.claude/settings.json\n}\n"
          b"# <<< ai wrapper <<<\n")
TAIL = b"export EDITOR=vim\n"


def test_the_defaults_are_the_rc_files_and_names_of_the_older_scripts():
    assert RC_FILES == ("~/.zshrc", "~/.bashrc", "~/.bash_profile", "~/.zprofile", "~/.profile")
    assert WRAPPER_NAMES == ("fmapi-claude", "claude_fmapi", "dbx-fmapi-claude")


def test_a_known_wrapper_is_found_with_the_blank_line_before_it():
    data = TOP + FMAPI + TAIL

    blocks, warnings = find_blocks(data)

    assert warnings == []
    assert blocks == [Block(len(TOP), len(TOP) + len(FMAPI), "fmapi-claude", 3, 7)]
    assert remove_blocks(data, blocks) == TOP + TAIL


def test_blocks_of_other_tools_stay_and_marked_blocks_under_other_names_go():
    data = TOP + CONDA + FMAPI + USER + MARKED + TAIL

    blocks, warnings = find_blocks(data)

    assert [(block.name, block.first_line, block.last_line) for block in blocks] == [
        ("fmapi-claude", 6, 10), ("ai", 16, 20)]
    assert warnings == []
    assert remove_blocks(data, blocks) == TOP + CONDA + USER + TAIL


def test_the_older_scripts_comment_marks_a_block_too():
    block = b"# >>> cc wrapper >>>\ncc() { databricks tokens create --comment 'Claude Code FMAPI'; }\n# <<< cc wrapper <<<\n"
    assert [found.name for found in find_blocks(TOP + block)[0]] == ["cc"]


def test_only_the_given_names_count():
    assert find_blocks(TOP + FMAPI, names=["claude_fmapi"])[0] == []
    assert [block.name for block in find_blocks(TOP + USER, names=["mytool"])[0]] == ["mytool"]


def test_a_block_without_its_end_line_is_a_warning_and_the_rest_is_still_searched():
    renamed = FMAPI.replace(b"fmapi-claude", b"claude_fmapi")
    data = TOP + b"# >>> fmapi-claude wrapper >>>\nfmapi-claude() {\n" + TAIL + renamed

    blocks, warnings = find_blocks(data)

    assert warnings == ["fmapi-claude wrapper at line 2 has no end line"]
    assert [block.name for block in blocks] == ["claude_fmapi"]
    assert remove_blocks(data, blocks) == TOP + b"# >>> fmapi-claude wrapper >>>\nfmapi-claude() {\n" + TAIL


def test_an_end_line_of_another_block_does_not_close_it():
    data = b"# >>> fmapi-claude wrapper >>>\nx\n# <<< other wrapper <<<\n"
    blocks, warnings = find_blocks(data)
    assert blocks == [] and warnings == ["fmapi-claude wrapper at line 1 has no end line"]


def test_crlf_lines_and_trailing_blanks_on_the_marker_lines():
    block = b"\r\n# >>> fmapi-claude wrapper >>>  \r\nfmapi-claude() { :; }\r\n# <<< fmapi-claude wrapper <<< \r\n"
    data = b"alias ll='ls -l'\r\n" + block + b"export A=1\r\n"

    blocks, _warnings = find_blocks(data)

    assert [(block.first_line, block.last_line) for block in blocks] == [(3, 5)]
    assert remove_blocks(data, blocks) == b"alias ll='ls -l'\r\nexport A=1\r\n"


def test_a_block_on_the_first_line_and_at_the_end_without_a_final_newline():
    data = FMAPI[1:].rstrip(b"\n")

    blocks, _warnings = find_blocks(data)

    assert [(block.start, block.end, block.first_line) for block in blocks] == [(0, len(data), 1)]
    assert remove_blocks(data, blocks) == b""


def test_nothing_found_in_an_empty_or_unrelated_file():
    assert find_blocks(b"") == ([], [])
    assert find_blocks(TOP + CONDA + USER) == ([], [])
    assert remove_blocks(TOP, []) == TOP


def test_invalid_utf8_around_a_block_is_kept_byte_for_byte():
    data = b"export NAME=\xff\xfe\n" + FMAPI + b"# caf\xe9\n"
    assert remove_blocks(data, find_blocks(data)[0]) == b"export NAME=\xff\xfe\n# caf\xe9\n"
