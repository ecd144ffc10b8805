# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File handling shared by the collection's modules. Private to the collection.

Every write is atomic: the new content goes to a temporary file in the same directory, is
flushed to disk, and replaces the target with a rename, so a reader sees the old file or the
new one and never half of either. A symlinked target (dotfiles managers) is written through:
the file it points to is replaced, the link stays.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
import typing as t

if t.TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule


def expand(path: str) -> str:
    """Expand ``~`` and environment variables and make the path absolute."""
    return os.path.abspath(os.path.expanduser(os.path.expandvars(path)))


def write_target(path: str) -> str:
    """The file a write to ``path`` must replace: the final target of a symlink chain."""
    return os.path.realpath(path) if os.path.islink(path) else path


def read_bytes(path: str) -> t.Optional[bytes]:
    """Content of ``path`` (through symlinks), or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def read_text(path: str) -> t.Optional[str]:
    """UTF-8 content of ``path``, or None when it does not exist."""
    data = read_bytes(path)
    return None if data is None else data.decode("utf-8")


def atomic_write(module: AnsibleModule, path: str, content: t.Union[str, bytes], mode: int) -> str:
    """Replace ``path`` with ``content`` atomically and give it ``mode``.

    Returns the path of the file actually written (the symlink target for a symlink).
    The parent directory must exist. The owner and SELinux context of an existing file are kept.
    The temporary file has ``mode`` from the start, so the content is never readable by others.
    """
    if isinstance(content, str):
        content = content.encode("utf-8")
    target = write_target(path)
    directory = os.path.dirname(target) or "."
    try:
        existing = os.stat(target)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
        existing = None
    context = module.selinux_context(target) if existing is not None and module.selinux_enabled() else None
    fd, tmp_path = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=directory)
    try:
        # The descriptor belongs to the file object from here on, so every path closes it.
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            if existing is not None and os.geteuid() == 0:
                os.fchown(handle.fileno(), existing.st_uid, existing.st_gid)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, target)
    except BaseException:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
        raise
    _fsync_directory(directory)
    if context is not None:
        module.set_context_if_different(target, context, False)
    return target


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (a power cut after the write keeps the new file)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        # Some filesystems do not support fsync on a directory; the rename itself is still atomic.
        pass
    finally:
        os.close(fd)


def remove_file(path: str) -> bool:
    """Delete ``path`` (the link itself for a symlink); True when something was removed."""
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True


def remove_empty_folders(path: str, levels: int) -> t.List[str]:
    """Remove the folder ``path`` and then up to ``levels - 1`` folders above it, each only while it is empty
    (what a removal leaves of folders made for one file); the folders removed."""
    removed = []
    for _level in range(levels):
        try:
            os.rmdir(path)
        except OSError:
            break
        removed.append(path)
        path = os.path.dirname(path)
    return removed


def ensure_directory(path: str, mode: int) -> bool:
    """Create ``path`` and any missing parents, each with ``mode``; True when something was created."""
    if os.path.isdir(path):
        return False
    parent = os.path.dirname(os.path.abspath(path))
    if parent != path and not os.path.isdir(parent):
        ensure_directory(parent, mode)
    os.mkdir(path, mode)
    # mkdir's mode is reduced by the umask; ours is a policy.
    os.chmod(path, mode)
    return True


def mode_of(path: str) -> t.Optional[int]:
    """Permission bits of ``path`` (through symlinks), or None when missing."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


class BackupError(Exception):
    """A backup copy could not be made; the message says so (nothing was changed yet)."""


def private_backup(module: AnsibleModule, path: str, mode: int) -> str:
    """A timestamped copy of ``path`` beside it (``module.backup_local``) with ``mode``: it may hold credentials."""
    try:
        backup_file = module.backup_local(path)
        os.chmod(backup_file, mode)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # backup_local raises a bare Exception.
        raise BackupError("Cannot back up %s, so nothing was changed: %s" % (path, exc.__cause__ or exc)) from exc
    return backup_file


def replace_or_remove(module: AnsibleModule, path: str, content: t.Optional[t.Union[str, bytes]], mode: int,
                      directory_mode: int) -> None:
    """Write ``content`` to ``path`` atomically (a missing folder is created with ``directory_mode``), or delete
    ``path`` when ``content`` is None."""
    if content is None:
        remove_file(path)
        return
    directory = os.path.dirname(write_target(path))
    if not os.path.isdir(directory):
        ensure_directory(directory, directory_mode)
    atomic_write(module, path, content, mode)


# A file this size or smaller is fingerprinted by its content; a larger one (an executable) by size and mtime.
FINGERPRINT_CONTENT_LIMIT = 1024 * 1024
_FINGERPRINT_DIR_ENTRIES = 1000


def fingerprint(path: str, _depth: int = 0) -> str:
    """A short text that changes when ``path`` changes: what it is, its owner and mode, and its content (for a
    file up to 1 MiB; size and modification time for a larger one, such as an executable), through symlinks and
    down a folder's tree. A missing path is ``absent``. It holds a digest, never the content."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return "absent" if exc.errno in (errno.ENOENT, errno.ENOTDIR) else "unreadable:%s" % errno.errorcode.get(
            exc.errno, exc.errno)
    owner = "%d:%d:%o" % (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode))
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path)
        resolved = fingerprint(os.path.join(os.path.dirname(path), target), _depth + 1) if _depth < 8 else "loop"
        return "link:%s>%s" % (target, resolved)
    if stat.S_ISDIR(info.st_mode):
        digest = hashlib.sha256(owner.encode())
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            return "dir:%s:unreadable:%s" % (owner, exc.errno)
        if _depth >= 4 or len(names) > _FINGERPRINT_DIR_ENTRIES:
            return "dir:%s:%d:%d" % (owner, len(names), info.st_mtime_ns)
        for name in names:
            digest.update(("%s=%s\n" % (name, fingerprint(os.path.join(path, name), _depth + 1))).encode())
        return "dir:" + digest.hexdigest()[:32]
    if not stat.S_ISREG(info.st_mode):
        return "other:%s:%o" % (owner, stat.S_IFMT(info.st_mode))
    if info.st_size > FINGERPRINT_CONTENT_LIMIT:
        return "file:%s:%d:%d" % (owner, info.st_size, info.st_mtime_ns)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(65536), b""):
                digest.update(block)
    except OSError as exc:
        return "file:%s:unreadable:%s" % (owner, exc.errno)
    return "file:%s:%s" % (owner, digest.hexdigest()[:32])
