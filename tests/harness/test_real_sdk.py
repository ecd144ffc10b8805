"""The real databricks-sdk (Python) against the workspace double."""

from __future__ import annotations

import os

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import NotFound, PermissionDenied, ResourceDoesNotExist, Unauthenticated
from databricks.sdk.service.serving import EndpointStateConfigUpdate, EndpointStateReady

from workspace_double.tokens import JwtSigner


@pytest.fixture
def sdk_env(workspace_double, monkeypatch, tmp_path):
    """Point the SDK at the double's CA and keep the caller's Databricks config out."""
    for name in list(os.environ):
        if name.startswith("DATABRICKS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", workspace_double.ca_file)
    return workspace_double


def _client(double, token: str) -> WorkspaceClient:
    return WorkspaceClient(config=Config(host=double.url, token=token, auth_type="pat", retry_timeout_seconds=15))


def test_sdk_lists_and_gets_serving_endpoints(sdk_env):
    double = sdk_env
    w = _client(double, double.control.issue_access_token())
    names = [endpoint.name for endpoint in w.serving_endpoints.list()]
    assert names[:3] == ["databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6", "databricks-claude-haiku-4-5"]
    assert "databricks-gpt-5-2" in names and "databricks-gemini-2-5-pro" in names
    endpoint = w.serving_endpoints.get("databricks-claude-sonnet-4-6")
    assert endpoint.state.ready == EndpointStateReady.READY
    assert endpoint.state.config_update == EndpointStateConfigUpdate.NOT_UPDATING
    assert endpoint.task == "llm/v1/chat"
    assert endpoint.config.served_entities[0].foundation_model.display_name == "Claude Sonnet 4.6"
    # endpoint_type is dropped by the SDK's dataclass; the raw API has it.
    raw = w.api_client.do("GET", "/api/2.0/serving-endpoints")
    assert {e["endpoint_type"] for e in raw["endpoints"]} == {"FOUNDATION_MODEL_API"}
    with pytest.raises(NotFound) as err:
        w.serving_endpoints.get("databricks-no-such-model")
    assert isinstance(err.value, ResourceDoesNotExist)
    assert "does not exist" in str(err.value)
    log = double.control.requests("/api/2.0/serving-endpoints")
    assert log and all(entry["bearer_status"] == "valid" and entry["token_kind"] == "oauth" for entry in log)
    assert w.current_user.me().user_name == "developer@example.com"


def test_sdk_sees_endpoint_states_and_many_endpoints(sdk_env):
    double = sdk_env
    double.control.add_endpoints([f"custom-endpoint-{i:03d}" for i in range(500)])
    double.control.set_endpoint_state("databricks-claude-opus-4-6", ready="NOT_READY", config_update="IN_PROGRESS")
    w = _client(double, double.control.issue_access_token())
    endpoints = list(w.serving_endpoints.list())
    assert len(endpoints) == 511
    opus = next(e for e in endpoints if e.name == "databricks-claude-opus-4-6")
    assert opus.state.ready == EndpointStateReady.NOT_READY
    assert opus.state.config_update == EndpointStateConfigUpdate.IN_PROGRESS
    # Server-side pagination is opt-in; the SDK itself does one GET.
    first = w.api_client.do("GET", "/api/2.0/serving-endpoints", query={"page_size": 200})
    assert len(first["endpoints"]) == 200 and first["next_page_token"]


@pytest.mark.parametrize("kind", ["forged", "expired", "revoked", "garbage"])
def test_sdk_rejects_tokens_the_double_does_not_accept(sdk_env, kind):
    double = sdk_env
    if kind == "forged":
        token = JwtSigner().encode({"jti": "x", "sub": "developer@example.com", "exp": 9_999_999_999})
    elif kind == "garbage":
        token = "dapi" + "0" * 32
    else:
        token = double.control.issue_access_token()
        if kind == "expired":
            double.control.expire_access_tokens()
        else:
            double.control.revoke_all_tokens()
    w = _client(double, token)
    with pytest.raises((Unauthenticated, PermissionDenied)):
        list(w.serving_endpoints.list())
    expected = {"forged": "unknown", "garbage": "unknown", "expired": "expired", "revoked": "revoked"}[kind]
    assert double.control.requests("/api/2.0/serving-endpoints")[-1]["bearer_status"] == expected


def test_sdk_token_api_create_list_delete(sdk_env):
    double = sdk_env
    seeded = double.control.create_pat(comment="Claude Code FMAPI (legacy)", lifetime_seconds=3600)
    w = _client(double, double.control.issue_access_token())
    created = w.tokens.create(comment="harness test", lifetime_seconds=600)
    assert created.token_value.startswith("dapi")
    assert created.token_info.comment == "harness test"
    infos = {info.token_id: info for info in w.tokens.list()}
    assert set(infos) == {seeded["token_info"]["token_id"], created.token_info.token_id}
    legacy = infos[seeded["token_info"]["token_id"]]
    assert legacy.comment.startswith("Claude Code FMAPI")
    # PublicTokenInfo has no creator fields; the raw answer carries them.
    raw = w.api_client.do("GET", "/api/2.0/token/list")["token_infos"]
    assert {info["created_by_username"] for info in raw} == {"developer@example.com"}
    assert legacy.expiry_time - legacy.creation_time == 3_600_000

    # A PAT minted by the API is itself a usable bearer.
    pat_client = _client(double, created.token_value)
    assert pat_client.serving_endpoints.get("databricks-claude-haiku-4-5").name == "databricks-claude-haiku-4-5"
    assert double.control.requests("/api/2.0/serving-endpoints/")[-1]["token_kind"] == "pat"

    w.tokens.delete(seeded["token_info"]["token_id"])
    assert [info.token_id for info in w.tokens.list()] == [created.token_info.token_id]
    with pytest.raises(NotFound) as err:
        w.tokens.delete(seeded["token_info"]["token_id"])
    assert isinstance(err.value, ResourceDoesNotExist)
    # Using a deleted PAT fails.
    w.tokens.delete(created.token_info.token_id)
    with pytest.raises((Unauthenticated, PermissionDenied)):
        pat_client.serving_endpoints.get("databricks-claude-haiku-4-5")
