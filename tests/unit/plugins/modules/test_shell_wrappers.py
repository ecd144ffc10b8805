"""shell_wrappers: the rc-file blocks of older setup scripts go, everything else stays byte for byte."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fmapi.coding_agents.plugins.modules import shell_wrappers

USER_TOP = b"export PATH=$HOME/bin:$PATH\nalias ll='ls -l'\n"
CONDA = (b"# >>> conda initialize >>>\n__conda_setup=\"$('/opt/conda/bin/conda' 'shell.zsh' 'hook')\"\n"
         b"# <<< conda initialize <<<\n")
FMAPI_BLOCK = (b"\n# >>> fmapi-claude wrapper >>>\nfmapi-claude() {\n  local sf=\"/home/dev/.claude/settings.json\"\n"
               b"  expiry=$(jq -r '._fmapi_meta.pat_expiry_epoch // 0' \"$sf\")\n  command claude \"$@\"\n}\n"
               b"# <<< fmapi-claude wrapper <<<\n")
CUSTOM_BLOCK = (b"\n# >>> ai wrapper >>>\nai() {\n  databricks tokens create --comment \"Claude Code FMAPI (created x)\"\n}\n"
                b"# <<< ai wrapper <<<\n")
USER_BLOCK = b"\n# >>> mytool wrapper >>>\nmytool() { echo hi; }\n# <<< mytool wrapper <<<\n"


def run(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            shell_wrappers.main()
    return json.loads(capsys.readouterr().out)


def test_known_and_marked_wrappers_go_other_blocks_stay(tmp_path, capsys):
    rc = tmp_path / ".zshrc"
    rc.write_bytes(USER_TOP + CONDA + FMAPI_BLOCK + USER_BLOCK + CUSTOM_BLOCK + b"export EDITOR=vim\n")
    os.chmod(rc, 0o640)
    result = run(capsys, paths=[str(rc)])
    assert result["changed"] is True
    assert [entry["name"] for entry in result["removed"]] == ["fmapi-claude", "ai"]
    assert rc.read_bytes() == USER_TOP + CONDA + USER_BLOCK + b"export EDITOR=vim\n"
    assert os.stat(rc).st_mode & 0o777 == 0o640


def test_second_run_changes_nothing(tmp_path, capsys):
    rc = tmp_path / ".bashrc"
    rc.write_bytes(USER_TOP + FMAPI_BLOCK)
    run(capsys, paths=[str(rc)])
    before = rc.read_bytes()
    result = run(capsys, paths=[str(rc)])
    assert result["changed"] is False
    assert rc.read_bytes() == before == USER_TOP


def test_check_mode_reports_and_writes_nothing(tmp_path, capsys):
    rc = tmp_path / ".zshrc"
    rc.write_bytes(USER_TOP + FMAPI_BLOCK)
    result = run(capsys, paths=[str(rc)], _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True
    assert rc.read_bytes() == USER_TOP + FMAPI_BLOCK
    assert "fmapi-claude()" in result["diff"][0]["before"]
    assert "fmapi-claude()" not in result["diff"][0]["after"]


def test_a_block_without_end_is_left_alone_with_a_warning(tmp_path, capsys):
    rc = tmp_path / ".zshrc"
    content = USER_TOP + b"# >>> fmapi-claude wrapper >>>\nfmapi-claude() {\n" + b"export IMPORTANT=1\n"
    rc.write_bytes(content)
    result = run(capsys, paths=[str(rc)])
    assert result["changed"] is False
    assert rc.read_bytes() == content
    assert "no end line" in result["unterminated"][0]


def test_missing_files_are_skipped(tmp_path, capsys):
    result = run(capsys, paths=[str(tmp_path / "nope")])
    assert result["changed"] is False and result["removed"] == []


def test_a_symlinked_rc_file_is_written_through(tmp_path, capsys):
    target = tmp_path / "dotfiles" / "zshrc"
    target.parent.mkdir()
    target.write_bytes(USER_TOP + FMAPI_BLOCK)
    link = tmp_path / ".zshrc"
    link.symlink_to(target)
    run(capsys, paths=[str(link)])
    assert link.is_symlink()
    assert target.read_bytes() == USER_TOP


def test_backup_keeps_the_original(tmp_path, capsys):
    rc = tmp_path / ".zshrc"
    rc.write_bytes(USER_TOP + FMAPI_BLOCK)
    result = run(capsys, paths=[str(rc)], backup=True)
    assert len(result["backup_files"]) == 1
    with open(result["backup_files"][0], "rb") as handle:
        assert handle.read() == USER_TOP + FMAPI_BLOCK


def run_failing(capsys, **args):
    """Run the module expecting a failure; the result and the raw output."""
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            shell_wrappers.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    assert exit_info.value.code == 1 and result["failed"] is True, result
    return result, out


def assert_no_traceback(result, out):
    assert "exception" not in result and "Traceback" not in out


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_rc_file_fails_with_the_file_and_the_fix(tmp_path, capsys):
    rc = tmp_path / ".zshrc"
    rc.write_bytes(USER_TOP + FMAPI_BLOCK)
    rc.chmod(0o000)
    try:
        result, out = run_failing(capsys, paths=[str(rc)])
    finally:
        rc.chmod(0o644)
    assert str(rc) in result["msg"] and "Permission denied" in result["msg"]
    assert "chmod u+r %s" % rc in result["msg"] and "Nothing was changed" in result["msg"]
    assert_no_traceback(result, out)
    assert rc.read_bytes() == USER_TOP + FMAPI_BLOCK


def test_an_rc_path_that_cannot_be_read_even_by_root_fails_cleanly(tmp_path, capsys):
    """A path below a file: open() fails with ENOTDIR whoever runs it (unlike a missing file, which is skipped)."""
    not_a_directory = tmp_path / "home-is-a-file"
    not_a_directory.write_bytes(b"x")
    rc = not_a_directory / ".zshrc"
    result, out = run_failing(capsys, paths=[str(rc)])
    assert result["msg"].startswith("Cannot read %s: Not a directory." % rc)
    assert "chmod u+r %s" % rc in result["msg"] and "Nothing was changed" in result["msg"]
    assert_no_traceback(result, out)


def test_an_rc_path_that_is_a_directory_fails_cleanly(tmp_path, capsys):
    rc = tmp_path / ".zshrc"
    rc.mkdir()
    result, out = run_failing(capsys, paths=[str(rc)])
    assert result["msg"].startswith("Cannot read %s: Is a directory." % rc)
    assert_no_traceback(result, out)


def test_a_write_failure_names_the_file_and_what_to_do(tmp_path, capsys, monkeypatch):
    rc = tmp_path / ".bashrc"
    rc.write_bytes(USER_TOP + FMAPI_BLOCK)

    def read_only(module, path, content, mode):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(shell_wrappers, "atomic_write", read_only)
    result, out = run_failing(capsys, paths=[str(rc)])
    assert result["msg"].startswith("Cannot write %s: Permission denied." % rc)
    assert "# >>> NAME wrapper >>>" in result["msg"] and "Nothing was changed in it" in result["msg"]
    assert_no_traceback(result, out)
    assert rc.read_bytes() == USER_TOP + FMAPI_BLOCK
