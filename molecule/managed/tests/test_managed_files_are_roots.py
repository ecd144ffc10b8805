"""What managed scope wrote is root's: readable by every user of the laptop, writable by root alone."""

from __future__ import annotations

import os

from managed_laptop import CODEX_MANAGED, DROP_IN, GEMINI_SYSTEM, HELPER, HOME, owners_and_modes

MODES = {DROP_IN: 0o644, GEMINI_SYSTEM: 0o644, CODEX_MANAGED: 0o644, HELPER: 0o755}


def test_managed_files_are_roots_and_readable_by_everyone(host):
    found = owners_and_modes(host, *MODES)
    assert found == {path: ("root", "root", mode) for path, mode in MODES.items()}


def test_every_folder_above_them_is_roots_and_0755(host):
    # Gemini CLI reads its system settings only while no folder above them can be written by others.
    folders = set()
    for path in MODES:
        folder = os.path.dirname(path)
        while folder != "/":
            folders.add(folder)
            folder = os.path.dirname(folder)
    found = owners_and_modes(host, *sorted(folders))
    assert found == {folder: ("root", "root", 0o755) for folder in folders}


def test_the_developer_has_no_helper_of_their_own(host):
    # One helper serves the laptop: the managed files name it.
    assert not host.file(f"{HOME}/.local/share/fmapi-coding-agents/fmapi-token-helper").exists
