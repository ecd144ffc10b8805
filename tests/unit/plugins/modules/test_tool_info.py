"""tool_info: finding a tool like a shell would, and judging its version."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fmapi.coding_agents.plugins.modules import tool_info


def make_tool(directory, name, output, status=0):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{output}'\nexit {status}\n")
    os.chmod(path, 0o755)
    return str(path)


def run(capsys, monkeypatch, path_env, **args):
    monkeypatch.setenv("PATH", path_env)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            tool_info.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("output,version", [
    ("Databricks CLI v1.12.1", "1.12.1"),
    ("2.1.329 (Claude Code)", "2.1.329"),
    ("Version 0.18.0", "0.18.0"),
    ("jq-1.6", "1.6"),
    ("no digits here", ""),
])
def test_version_is_read_from_common_formats(tmp_path, capsys, monkeypatch, output, version):
    make_tool(tmp_path, "tool", output)
    result = run(capsys, monkeypatch, str(tmp_path), name="tool", extra_paths=[])
    assert result["version"] == version and result["version_output"] == output
    assert result["version_ok"] is bool(version)


def test_path_comes_before_extra_paths(tmp_path, capsys, monkeypatch):
    first = make_tool(tmp_path / "on-path", "databricks", "Databricks CLI v1.12.1")
    make_tool(tmp_path / "extra", "databricks", "Databricks CLI v0.200.0")
    result = run(capsys, monkeypatch, str(tmp_path / "on-path"), name="databricks",
                 extra_paths=[str(tmp_path / "extra")], min_version="0.296.0")
    assert result["path"] == first and result["on_path"] is True
    assert result["version"] == "1.12.1" and result["version_ok"] is True


def test_extra_paths_find_what_path_misses(tmp_path, capsys, monkeypatch):
    tool = make_tool(tmp_path / "local-bin", "claude", "2.1.329 (Claude Code)")
    result = run(capsys, monkeypatch, "/nonexistent", name="claude", extra_paths=[str(tmp_path / "local-bin")])
    assert result["path"] == tool and result["on_path"] is False and result["version_ok"] is True


def test_too_old_version_is_not_ok(tmp_path, capsys, monkeypatch):
    make_tool(tmp_path, "databricks", "Version 0.18.0")
    result = run(capsys, monkeypatch, str(tmp_path), name="databricks", min_version="0.296.0", extra_paths=[])
    assert result["found"] is True and result["version"] == "0.18.0" and result["version_ok"] is False


def test_a_failing_tool_has_no_version(tmp_path, capsys, monkeypatch):
    make_tool(tmp_path, "claude", "1.0.0 but broken", status=3)
    result = run(capsys, monkeypatch, str(tmp_path), name="claude", extra_paths=[])
    assert result["found"] is True and result["version"] == "" and result["version_ok"] is False


def test_missing_tool(tmp_path, capsys, monkeypatch):
    result = run(capsys, monkeypatch, str(tmp_path), name="claude", extra_paths=[])
    assert result == dict(result, found=False, version="", version_ok=False, changed=False)


def test_a_path_as_name_is_refused(tmp_path, capsys, monkeypatch):
    result = run(capsys, monkeypatch, str(tmp_path), name="/bin/sh")
    assert result["failed"] is True and "bare executable name" in result["msg"] and "give a path as path" in result["msg"]


def test_a_path_outside_path_is_checked_where_it_is(tmp_path, capsys, monkeypatch):
    elsewhere = make_tool(tmp_path / "just-installed", "databricks", "Databricks CLI v1.12.1")
    make_tool(tmp_path / "on-path", "databricks", "Databricks CLI v0.200.0")
    result = run(capsys, monkeypatch, str(tmp_path / "on-path"), path=elsewhere, min_version="0.296.0")
    assert result["found"] is True and result["path"] == elsewhere and result["on_path"] is False
    assert result["version"] == "1.12.1" and result["version_ok"] is True


def test_a_path_in_a_path_directory_is_on_path(tmp_path, capsys, monkeypatch):
    tool = make_tool(tmp_path / "bin", "claude", "2.1.329 (Claude Code)")
    result = run(capsys, monkeypatch, str(tmp_path / "bin"), path=tool)
    assert result["path"] == tool and result["on_path"] is True


@pytest.mark.parametrize("make", ["missing", "not executable", "directory"])
def test_a_path_that_is_not_an_executable_is_not_found(tmp_path, capsys, monkeypatch, make):
    path = tmp_path / "bin" / "claude"
    if make == "not executable":
        make_tool(tmp_path / "bin", "claude", "2.1.329 (Claude Code)")
        os.chmod(path, 0o644)
    elif make == "directory":
        path.mkdir(parents=True)
    # A tool of the same name on PATH does not stand in for the path given.
    make_tool(tmp_path / "on-path", "claude", "2.1.329 (Claude Code)")
    result = run(capsys, monkeypatch, str(tmp_path / "on-path"), path=str(path))
    assert not result.get("failed")
    assert result["found"] is False and result["version"] == "" and result["version_ok"] is False
    assert "path" not in result


def test_name_or_path_is_required(tmp_path, capsys, monkeypatch):
    result = run(capsys, monkeypatch, str(tmp_path))
    assert result["failed"] is True and "name" in result["msg"] and "path" in result["msg"]
