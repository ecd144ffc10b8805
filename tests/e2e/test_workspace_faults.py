"""Faults of the workspace, as the day-to-day playbooks meet them on a set-up laptop: 401, 403, 404,
500, a workspace that is slow or refuses connections, and a TLS certificate the laptop does not trust.
Each is reported plainly, with the fix that fits it and the right exit status, within a bounded time,
and nothing is half-written."""

from __future__ import annotations

import json
import time

import pytest
from operations_support import Laptop, workspace_down

ENDPOINTS = "/api/2.0/serving-endpoints"


@pytest.fixture(name="laptop", scope="module")
def laptop_fixture(double, tmp_path_factory) -> Laptop:
    work = tmp_path_factory.mktemp("laptop")
    laptop = Laptop(str(work / "home"), double, str(work))
    assert laptop.setup().returncode == 0
    return laptop


@pytest.fixture(name="faulty")
def faulty_fixture(laptop, double):
    yield laptop
    double.control.clear_faults()


@pytest.mark.parametrize("status, body, says, fix", [
    pytest.param(401, {"error_code": "UNAUTHENTICATED", "message": "Token is expired."}, "HTTP 401",
                 "ansible-playbook fmapi.coding_agents.reauth", id="401"),
    pytest.param(403, {"error_code": "PERMISSION_DENIED", "message": "User lacks permission CAN_QUERY."}, "HTTP 403",
                 "ask a workspace admin for access to Model Serving", id="403"),
    pytest.param(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found."}, "404",
                 "Check the workspace URL", id="404"),
    pytest.param(500, {"error_code": "INTERNAL_ERROR", "message": "Something broke."}, "internal problem",
                 "The workspace's side, not this laptop's: try again later", id="500"),
])
def test_doctor_gives_each_http_answer_its_own_fix(faulty, double, status, body, says, fix):
    double.control.add_fault(ENDPOINTS, status=status, body=body, count=None)

    run = faulty.play("doctor")

    assert run.returncode != 0
    workspace = run.row("Connectivity", "Workspace")
    assert workspace.status == "FAIL" and says in workspace.value
    assert any(fix in hint for hint in workspace.hints), workspace.hints
    assert run.statuses("Models") == {"SKIP"}
    assert run.row("Auth", "OAuth session").status == "PASS"


@pytest.mark.parametrize("playbook", ["list_models", "validate_models"])
def test_a_refused_connection_fails_the_model_playbooks_quickly_with_the_fix(faulty, double, playbook):
    started = time.monotonic()
    with workspace_down(double):
        run = faulty.play(playbook)

    assert run.returncode != 0
    assert "refused" in run.output and ("VPN" in run.output or "proxy" in run.output)
    # Generous for a loaded machine; a workspace that is down must not cost minutes.
    assert time.monotonic() - started < 120


def test_a_slow_workspace_is_given_up_on_within_the_bound(faulty, double):
    double.control.add_fault(ENDPOINTS, delay_ms=120000, count=None)
    started = time.monotonic()

    run = faulty.play("validate_models")

    assert run.returncode != 0
    assert "did not answer within" in run.output
    assert time.monotonic() - started < 110, "the 2-minute answer was waited for"


def test_an_untrusted_certificate_names_the_ca_fix(faulty):
    # A laptop that does not trust the workspace's certificate (a TLS-inspecting proxy's CA not installed).
    faulty.extra_env.update(REQUESTS_CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt")
    try:
        run = faulty.play("doctor")
    finally:
        faulty.extra_env.pop("REQUESTS_CA_BUNDLE")

    assert run.returncode != 0
    workspace = run.row("Connectivity", "Workspace")
    assert workspace.status == "FAIL" and "certificate" in workspace.value.lower()
    assert any("SSL_CERT_FILE" in hint for hint in workspace.hints) or "REQUESTS_CA_BUNDLE" in workspace.value


def test_setup_under_a_failing_workspace_completes_with_warnings_and_whole_files(faulty, double):
    double.control.add_fault(ENDPOINTS, status=500, body={"error_code": "INTERNAL_ERROR", "message": "down"},
                             count=None)

    run = faulty.setup()

    assert run.returncode == 0
    workspace = run.row("Connectivity", "Workspace")
    assert workspace.status == "WARN" and "internal problem" in workspace.value
    with open(faulty.settings_path, encoding="utf-8") as handle:
        assert json.load(handle)["apiKeyHelper"] == faulty.helper_path
