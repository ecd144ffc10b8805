# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/_files.py."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _files


class FakeModule:
    """The two AnsibleModule methods atomic_write calls, on a system without SELinux."""

    def __init__(self):
        self.contexts_set = []

    @staticmethod
    def selinux_enabled():
        return False

    @staticmethod
    def selinux_context(path):
        raise AssertionError("not called without SELinux: %s" % path)

    def set_context_if_different(self, path, context, changed):
        self.contexts_set.append((path, context, changed))
        return changed


class SelinuxModule(FakeModule):
    @staticmethod
    def selinux_enabled():
        return True

    @staticmethod
    def selinux_context(path):
        return ["user_u", "object_r", "home_t", "s0"]


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def entries(directory):
    return sorted(os.listdir(directory))


# ---------------------------------------------------------------- expand

def test_expand_home_variables_and_relative(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", "/home/dev")
    monkeypatch.setenv("FMAPI_TEST_DIR", "/opt/x")
    monkeypatch.chdir(tmp_path)
    assert _files.expand("~/.claude/settings.json") == "/home/dev/.claude/settings.json"
    assert _files.expand("$FMAPI_TEST_DIR/a/../b") == "/opt/x/b"
    assert _files.expand("rel/file") == str(tmp_path / "rel" / "file")


# ------------------------------------------------------------ write_target

def test_write_target_follows_a_chain_of_links(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("{}")
    first = tmp_path / "first"
    second = tmp_path / "second"
    second.symlink_to("real.json")
    first.symlink_to(second)
    assert _files.write_target(str(first)) == str(target)
    assert _files.write_target(str(target)) == str(target)
    assert _files.write_target(str(tmp_path / "missing")) == str(tmp_path / "missing")


# ------------------------------------------------------------------ read

def test_read_bytes_and_text(tmp_path):
    path = tmp_path / "f"
    assert _files.read_bytes(str(path)) is None
    assert _files.read_text(str(path)) is None
    path.write_bytes("é\n".encode("utf-8"))
    assert _files.read_bytes(str(path)) == b"\xc3\xa9\n"
    assert _files.read_text(str(path)) == "é\n"
    link = tmp_path / "link"
    link.symlink_to(path)
    assert _files.read_bytes(str(link)) == b"\xc3\xa9\n"


def test_read_errors_other_than_missing_are_raised(tmp_path):
    with pytest.raises(OSError):
        _files.read_bytes(str(tmp_path))
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    assert _files.read_bytes(str(dangling)) is None


def test_read_text_of_invalid_utf8_raises(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"\xff")
    with pytest.raises(UnicodeDecodeError):
        _files.read_text(str(path))


# ------------------------------------------------------------ atomic_write

def test_atomic_write_new_file_with_mode(tmp_path):
    path = tmp_path / "settings.json"
    written = _files.atomic_write(FakeModule(), str(path), "{}\n", 0o600)
    assert written == str(path)
    assert path.read_text() == "{}\n"
    assert mode(path) == 0o600
    assert entries(tmp_path) == ["settings.json"]


def test_atomic_write_replaces_content_and_mode_with_a_new_inode(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("old content that is longer than the new one")
    os.chmod(path, 0o644)
    inode = os.stat(path).st_ino
    _files.atomic_write(FakeModule(), str(path), b"new", 0o600)
    assert path.read_bytes() == b"new"
    assert mode(path) == 0o600
    assert os.stat(path).st_ino != inode
    assert entries(tmp_path) == ["settings.json"]


def test_atomic_write_mode_ignores_umask(tmp_path):
    old = os.umask(0o077)
    try:
        _files.atomic_write(FakeModule(), str(tmp_path / "script"), "#!/bin/sh\n", 0o755)
    finally:
        os.umask(old)
    assert mode(tmp_path / "script") == 0o755


def test_atomic_write_through_a_symlink_keeps_the_link(tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "settings.json"
    target.write_text("old")
    config = tmp_path / "config"
    config.mkdir()
    link = config / "settings.json"
    link.symlink_to(target)
    written = _files.atomic_write(FakeModule(), str(link), "new", 0o600)
    assert written == str(target)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new" and mode(target) == 0o600
    # The temporary file lived beside the target, and is gone.
    assert entries(dotfiles) == ["settings.json"] and entries(config) == ["settings.json"]


def test_atomic_write_through_a_relative_symlink(tmp_path):
    (tmp_path / "real").write_text("old")
    (tmp_path / "link").symlink_to("real")
    _files.atomic_write(FakeModule(), str(tmp_path / "link"), "new", 0o600)
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "real").read_text() == "new"


def test_atomic_write_never_exposes_content_with_a_wider_mode(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy_replace(src, dst):
        seen.append((mode(src), open(src, "rb").read()))
        return real_replace(src, dst)

    monkeypatch.setattr(_files.os, "replace", spy_replace)
    _files.atomic_write(FakeModule(), str(tmp_path / "secret"), "token", 0o600)
    assert seen == [(0o600, b"token")]


def test_atomic_write_failure_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "settings.json"
    path.write_text("precious")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        _files.atomic_write(FakeModule(), str(path), "new", 0o600)
    assert path.read_text() == "precious"
    assert entries(tmp_path) == ["settings.json"]


def test_atomic_write_failure_before_writing_closes_the_temporary_file(tmp_path, monkeypatch):
    def broken_fchmod(fd, mode_bits):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(_files.os, "fchmod", broken_fchmod)
    open_before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="not permitted"):
        _files.atomic_write(FakeModule(), str(tmp_path / "f"), "x", 0o600)
    assert entries(tmp_path) == []
    assert len(os.listdir("/proc/self/fd")) == open_before


def test_atomic_write_needs_the_parent_directory(tmp_path):
    with pytest.raises(OSError):
        _files.atomic_write(FakeModule(), str(tmp_path / "missing" / "f"), "x", 0o600)


def test_atomic_write_keeps_the_owner_when_root(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("changing the owner needs root")
    path = tmp_path / "owned"
    path.write_text("old")
    os.chown(path, 4242, 4343)
    _files.atomic_write(FakeModule(), str(path), "new", 0o600)
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == (4242, 4343)


def test_atomic_write_restores_the_selinux_context_of_an_existing_file(tmp_path):
    path = tmp_path / "f"
    path.write_text("old")
    module = SelinuxModule()
    _files.atomic_write(module, str(path), "new", 0o600)
    assert module.contexts_set == [(str(path), ["user_u", "object_r", "home_t", "s0"], False)]
    fresh = SelinuxModule()
    _files.atomic_write(fresh, str(tmp_path / "new-file"), "x", 0o600)
    assert fresh.contexts_set == []


# ------------------------------------------------------------- remove_file

def test_remove_file(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    assert _files.remove_file(str(path)) is True
    assert not path.exists()
    assert _files.remove_file(str(path)) is False


def test_remove_file_removes_the_link_not_its_target(tmp_path):
    target = tmp_path / "target"
    target.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target)
    assert _files.remove_file(str(link)) is True
    assert not os.path.lexists(link) and target.read_text() == "x"


def test_remove_file_refuses_a_directory(tmp_path):
    with pytest.raises(OSError):
        _files.remove_file(str(tmp_path))


# -------------------------------------------------------- ensure_directory

def test_ensure_directory_creates_with_mode_despite_umask(tmp_path):
    path = tmp_path / "a" / "b"
    old = os.umask(0o022)
    try:
        assert _files.ensure_directory(str(path), 0o700) is True
    finally:
        os.umask(old)
    assert mode(path) == 0o700
    assert _files.ensure_directory(str(path), 0o755) is False
    assert mode(path) == 0o700


def test_ensure_directory_gives_the_mode_to_created_parents(tmp_path):
    old = os.umask(0o022)
    try:
        _files.ensure_directory(str(tmp_path / "a" / "b"), 0o700)
    finally:
        os.umask(old)
    assert mode(tmp_path / "a") == 0o700


# ------------------------------------------------------------------ mode_of

def test_mode_of(tmp_path):
    path = tmp_path / "f"
    assert _files.mode_of(str(path)) is None
    path.write_text("x")
    os.chmod(path, 0o640)
    assert _files.mode_of(str(path)) == 0o640
    link = tmp_path / "link"
    link.symlink_to(path)
    assert _files.mode_of(str(link)) == 0o640


class BackupModule(FakeModule):
    """backup_local as AnsibleModule has it: a copy beside the file, or a bare Exception."""

    def __init__(self, fail=False):
        super().__init__()
        self.fail = fail

    def backup_local(self, path):
        if self.fail:
            raise Exception("Could not make backup of %s to %s.bak: [Errno 28] No space left" % (path, path))  # pylint: disable=broad-exception-raised
        with open(path, "rb") as source, open(path + ".bak", "wb") as copy:
            copy.write(source.read())
        return path + ".bak"


def test_private_backup_is_private_and_a_failure_says_nothing_changed(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    backup = _files.private_backup(BackupModule(), str(path), 0o600)
    assert backup == str(path) + ".bak" and mode(backup) == 0o600
    with pytest.raises(_files.BackupError, match="Cannot back up .*settings.json, so nothing was changed: .*No space"):
        _files.private_backup(BackupModule(fail=True), str(path), 0o600)


def test_replace_or_remove_writes_creating_the_folder_or_deletes(tmp_path):
    path = tmp_path / "new" / "dir" / "file"
    _files.replace_or_remove(FakeModule(), str(path), b"data", 0o600, 0o700)
    assert path.read_bytes() == b"data" and mode(path) == 0o600
    assert mode(tmp_path / "new") == 0o700 and mode(tmp_path / "new" / "dir") == 0o700
    _files.replace_or_remove(FakeModule(), str(path), None, 0o600, 0o700)
    assert not path.exists()
