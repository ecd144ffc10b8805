# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of legacy_pats with the workspace replaced at the SDK client; tests/functional/test_legacy_pats.py
runs it against the workspace double."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from databricks.sdk import errors as sdk_errors

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_sdk as sdk
from ansible_collections.fmapi.coding_agents.plugins.modules import legacy_pats

HOST = "https://dbc-1234abcd-5678.cloud.databricks.com"
TOKEN = "dapi0123456789abcdef0123456789abcdef"
LIST = "/api/2.0/token/list"
DELETE = "/api/2.0/token/delete"
TOKENS = [
    {"token_id": "t2", "comment": "Claude Code FMAPI (created 2025-02-01)", "creation_time": 2, "expiry_time": 9},
    {"token_id": "t1", "comment": "Claude Code FMAPI (created 2025-01-01)", "creation_time": 1, "expiry_time": 9},
    {"token_id": "t3", "comment": "my notebook job", "creation_time": 3, "expiry_time": 9},
]


class FakeApiClient:
    """Answers the token API like a workspace; ``errors`` maps a path to what it raises."""

    def __init__(self, tokens):
        self.tokens = list(tokens)
        self.errors = {}
        self.calls = []

    def do(self, method, path, query=None, body=None):  # pylint: disable=unused-argument
        self.calls.append((method, path, body))
        if path in self.errors:
            raise self.errors[path]
        if path == LIST:
            return {"token_infos": list(self.tokens)}
        if path == DELETE:
            self.tokens = [info for info in self.tokens if info["token_id"] != body["token_id"]]
            return {}
        raise AssertionError("unexpected call %s %s" % (method, path))


class FakeWorkspaceClient:  # pylint: disable=too-few-public-methods
    def __init__(self, api_client):
        self.api_client = api_client


@pytest.fixture(name="workspace")
def workspace_fixture(monkeypatch):
    api = FakeApiClient(TOKENS)
    monkeypatch.setattr(sdk, "check_reachable", lambda access: None)
    monkeypatch.setattr(sdk, "build_workspace_client", lambda access: FakeWorkspaceClient(api))
    return api


def run(capsys, **args):
    with patch_module_args(dict({"host": HOST, "token": TOKEN}, **args)):
        with pytest.raises(SystemExit):
            legacy_pats.main()
    out = capsys.readouterr().out
    assert TOKEN not in out
    result = json.loads(out)
    result["_warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return result


def deleted(api):
    return [body["token_id"] for _method, path, body in api.calls if path == DELETE]


def test_tokens_of_older_setups_are_revoked_and_no_others(workspace, capsys):
    result = run(capsys)

    assert "failed" not in result, result.get("msg")
    assert result["changed"] is True and result["token_api"] == "ok" and result["host"] == HOST
    assert [entry["token_id"] for entry in result["revoked"]] == ["t1", "t2"]
    assert deleted(workspace) == ["t1", "t2"]
    assert [info["token_id"] for info in workspace.tokens] == ["t3"]
    assert run(capsys)["changed"] is False


def test_check_mode_lists_but_revokes_nothing(workspace, capsys):
    result = run(capsys, _ansible_check_mode=True)
    assert result["changed"] is True and len(result["revoked"]) == 2
    assert deleted(workspace) == []


def test_a_refused_token_api_is_nothing_to_revoke_not_a_failure(workspace, capsys):
    """Workspaces that disable personal access tokens answer the token list with HTTP 403."""
    workspace.errors[LIST] = sdk_errors.PermissionDenied(
        "Personal access tokens are disabled for this workspace", error_code="PERMISSION_DENIED")

    result = run(capsys)

    assert "failed" not in result, result.get("msg")
    assert result["changed"] is False and result["revoked"] == [] and result["token_api"] == "refused"
    assert result["host"] == HOST
    assert len(result["_warnings"]) == 1
    warning = result["_warnings"][0]
    assert "%s refuses the token API (HTTP 403)" % HOST in warning
    assert "'Claude Code FMAPI...'" in warning and "Settings > Developer > Access tokens" in warning
    assert deleted(workspace) == []


def test_other_errors_of_the_token_list_still_fail(workspace, capsys):
    workspace.errors[LIST] = sdk_errors.InternalError("boom", error_code="INTERNAL_ERROR")
    result = run(capsys)
    assert result["failed"] is True and "internal problem" in result["msg"]
    assert "token_api" not in result


def test_an_empty_comment_prefix_is_refused(workspace, capsys):
    result = run(capsys, comment_prefix="  ")
    assert result["failed"] is True and "would revoke every token" in result["msg"]
    assert workspace.calls == []
