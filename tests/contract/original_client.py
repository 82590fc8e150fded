"""A client generated from the original contract, run against a live service.

Usage: original_client.py BASE_URL ORIGINAL_SPEC GENERATED_CLIENT_DIR

GENERATED_CLIENT_DIR holds the package `openapi-python-client generate --meta none` made from
ORIGINAL_SPEC (scripts/contract-client.sh makes it). Every operation of the original contract
is called through that client, unchanged, with `raise_on_unexpected_status` on, so a status the
contract does not list fails; the client's own models parse every body, so a field of the
wrong type or a null where the contract has none fails. Independently of the client, every
response is validated against the original contract's response schema by openapi-core.
Exits non-zero naming the first operation that broke.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import sys
import uuid
from pathlib import Path

import httpx
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse


def main() -> int:
    base_url, spec_path, client_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    spec = yaml.safe_load(spec_path.read_text())
    # The contract's servers are localhost:8080 and a cluster name; validate against ours.
    spec["servers"] = [{"url": base_url}]
    # RFC 7807 problems are JSON; openapi-core reads only application/json as JSON by itself.
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    openapi = OpenAPI.from_dict(spec, config=config)

    validated: list[str] = []

    def validate(response: httpx.Response) -> None:
        response.read()
        request = response.request
        mock_request = MockRequest(
            base_url,
            request.method,
            request.url.path,
            args=dict(request.url.params.multi_items()),
            data=request.content,
            content_type=request.headers.get("content-type", "application/json"),
        )
        content_type = response.headers.get("content-type", "").split(";")[0]
        mock_response = MockResponse(
            response.content,
            status_code=response.status_code,
            headers=dict(response.headers),
            content_type=content_type,
        )
        try:
            openapi.validate_response(mock_request, mock_response)
        except Exception as e:  # openapi-core raises a tree of schema errors
            cause = e.__cause__
            causes = "; ".join(str(c.message) for c in getattr(cause, "schema_errors", []) or [])
            raise AssertionError(
                f"{request.method} {request.url.path} -> {response.status_code} breaks the "
                f"original contract: {e!r} {causes}\nbody: {response.text[:2000]}"
            ) from e
        validated.append(f"{request.method} {request.url.path} {response.status_code}")

    sys.path.insert(0, str(client_dir.parent))
    pkg = client_dir.name
    models = importlib.import_module(f"{pkg}.models")
    client_mod = importlib.import_module(pkg)

    client = client_mod.Client(
        base_url=base_url,
        raise_on_unexpected_status=True,
        httpx_args={"event_hooks": {"response": [validate]}},
    )

    run = uuid.uuid4().hex[:12]
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def call(module: str, **kwargs):
        mod = importlib.import_module(f"{pkg}.api.{module}")
        response = mod.sync_detailed(client=client, **kwargs)
        if response.parsed is None and response.status_code not in (200, 204):
            raise AssertionError(f"{module}: nothing parsed from {response.status_code}")
        return response

    def expect(response, *statuses):
        if int(response.status_code) not in statuses:
            raise AssertionError(
                f"expected {statuses}, got {response.status_code}: {response.content[:500]!r}"
            )
        return response.parsed

    correlation = f"rr-contract-{run}"

    def event(**extra):
        fields = dict(
            version="1.0",
            event_type="gateway.signal.received",
            event_timestamp=now,
            event_category=models.AuditEventRequestEventCategory.GATEWAY,
            event_action="received",
            event_outcome=models.AuditEventRequestEventOutcome.SUCCESS,
            correlation_id=correlation,
            event_data={"signal": "HighCPU", "replicas": 3},
        )
        fields.update(extra)
        return models.AuditEventRequest(**fields)

    # Audit: one event with every optional field of the contract, one with none of them.
    full = expect(
        call(
            "audit_write_api.create_audit_event",
            body=event(
                actor_type="service",
                actor_id="gateway-service",
                resource_type="Signal",
                resource_id="fp-abc123",
                namespace="payments",
                cluster_name="prod-eu-1",
                severity="critical",
                duration_ms=12,
            ),
        ),
        201,
    )
    assert isinstance(full.event_id, uuid.UUID), full
    child = expect(
        call(
            "audit_write_api.create_audit_event",
            body=event(parent_event_id=full.event_id, event_action="processed"),
        ),
        201,
    )
    batch = expect(
        call(
            "audit_write_api.create_audit_events_batch",
            body=[event(event_type="gateway.crd.created", event_action="created") for _ in range(3)],
        ),
        201,
    )
    assert len(batch.event_ids) == 3, batch
    bad = expect(
        call("audit_write_api.create_audit_event", body=event(version="")),
        400,
    )
    assert bad.status == 400 and bad.field_errors is not None, bad

    # Notification audit: created, repeated unchanged (no new row), refused with other content.
    notification_id = f"notification-{run}"
    notification = models.NotificationAudit(
        remediation_id=correlation,
        notification_id=notification_id,
        recipient="ops-team@example.com",
        channel=models.NotificationAuditChannel.EMAIL,
        message_summary="Incident alert: High CPU usage on pod xyz",
        status=models.NotificationAuditStatus.SENT,
        sent_at=now,
        delivery_status="200 OK",
        escalation_level=0,
    )
    created = expect(call("audit_write_api.create_notification_audit", body=notification), 201)
    assert created.notification_id == notification_id and created.id > 0, created
    assert created.sent_at == now, created
    failed = models.NotificationAudit.from_dict({**notification.to_dict(), "status": "failed"})
    conflict = expect(call("audit_write_api.create_notification_audit", body=failed), 409)
    assert conflict.status == 409, conflict
    # A channel the contract does not have: the generated client refuses to build it, so the
    # request goes out through the client's own connection (its response is validated too).
    unknown_channel = client.get_httpx_client().post(
        "/api/v1/audit/notifications",
        json={**notification.to_dict(), "notification_id": f"n2-{run}", "channel": "fax"},
    )
    assert unknown_channel.status_code == 400, unknown_channel.text
    assert "channel" in unknown_channel.json()["field_errors"], unknown_channel.text

    # Query: the correlation holds the two events, the batch and the notification.
    page = expect(
        call("audit_write_api.query_audit_events", correlation_id=correlation, limit=100),
        200,
    )
    assert page.pagination.total == 6, page.pagination
    kinds = sorted(e.event_category.value if hasattr(e.event_category, "value") else e.event_category for e in page.data)
    assert kinds.count("notification") == 1, kinds
    by_id = {e.event_id: e for e in page.data}
    assert by_id[child.event_id].parent_event_id == full.event_id
    assert by_id[full.event_id].namespace == "payments"
    sent = expect(
        call(
            "audit_write_api.query_audit_events",
            correlation_id=correlation,
            event_category="notification",
        ),
        200,
    )
    assert len(sent.data) == 1 and sent.data[0].event_data["notification_id"] == notification_id, sent

    # Workflows: register, read, list, search, update, disable.
    content = f"apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n# {run}\n"
    workflow = models.RemediationWorkflow.from_dict(
        {
            "workflow_name": f"oomkill-{run}",
            "version": "v1.0.0",
            "name": "Increase memory limits",
            "description": "Raises the memory limit of an OOMKilled pod's deployment",
            "content": content,
            "content_hash": hashlib.sha256(content.encode()).hexdigest(),
            "labels": {
                "signal_type": f"OOMKilled-{run}",
                "severity": "critical",
                "component": "pod",
                "environment": "production",
                "priority": "P0",
            },
            "custom_labels": {"team": ["name=payments"]},
            "detected_labels": {"gitOpsManaged": True, "gitOpsTool": "argocd"},
            "parameters": {"MEMORY_INCREMENT": "256Mi"},
            "execution_engine": "argo-workflows",
            "container_image": "ghcr.io/kubernaut/workflows/oomkill:v1.0.0",
            "status": "active",
        }
    )
    registered = expect(call("workflow_catalog_api.create_workflow", body=workflow), 201)
    assert registered.workflow_id and registered.is_latest_version, registered
    wid = registered.workflow_id
    got = expect(call("workflow_catalog_api.get_workflow_by_id", workflow_id=wid), 200)
    assert got.content_hash == workflow.content_hash and got.labels.priority.value == "P0", got
    missing = expect(
        call("workflow_catalog_api.get_workflow_by_id", workflow_id=uuid.uuid4()), 404
    )
    assert missing.status == 404, missing
    listed = expect(
        call("workflow_catalog_api.list_workflows", status=models.ListWorkflowsStatus.ACTIVE, limit=1000),
        200,
    )
    assert any(w.workflow_id == wid for w in listed.workflows), "registered workflow not listed"
    found = expect(
        call(
            "workflow_catalog_api.search_workflows",
            body=models.WorkflowSearchRequest.from_dict(
                {
                    "remediation_id": correlation,
                    "filters": {
                        "signal_type": f"OOMKilled-{run}",
                        "severity": "critical",
                        "component": "pod",
                        "environment": "production",
                        "priority": "P0",
                        "detected_labels": {"gitOpsManaged": True},
                    },
                    "top_k": 5,
                }
            ),
        ),
        200,
    )
    assert [w.workflow_id for w in found.workflows] == [wid], found
    assert found.workflows[0].rank == 1 and found.workflows[0].label_boost > 0, found
    updated = expect(
        call(
            "workflow_catalog_api.update_workflow",
            workflow_id=wid,
            body=models.WorkflowUpdateRequest(status=models.WorkflowUpdateRequestStatus.DEPRECATED),
        ),
        200,
    )
    assert updated.status.value == "deprecated", updated
    immutable = expect(
        call(
            "workflow_catalog_api.update_workflow",
            workflow_id=wid,
            body=models.WorkflowUpdateRequest.from_dict({"content": "x"}),
        ),
        400,
    )
    assert immutable.status == 400, immutable
    disabled = expect(
        call(
            "workflow_catalog_api.disable_workflow",
            workflow_id=wid,
            body=models.WorkflowDisableRequest(reason="superseded", updated_by="ops@example.com"),
        ),
        200,
    )
    assert disabled.status.value == "disabled" and disabled.disabled_at is not None, disabled
    assert disabled.disabled_reason == "superseded", disabled
    gone = expect(
        call(
            "workflow_catalog_api.search_workflows",
            body=models.WorkflowSearchRequest.from_dict(
                {"filters": {"signal_type": f"OOMKilled-{run}", "severity": "critical", "component": "pod", "environment": "production", "priority": "P0"}}
            ),
        ),
        200,
    )
    assert gone.workflows == [] and gone.total_results == 0, gone

    # Health and metrics.
    healthy = expect(call("health.health_check"), 200)
    assert healthy.status.value == "healthy", healthy
    expect(call("health.readiness_check"), 200)
    expect(call("health.liveness_check"), 200)
    metrics = expect(call("metrics.get_metrics"), 200)
    assert "datastorage_" in metrics, metrics[:200]

    print(f"{len(validated)} responses valid against the original contract:")
    for line in validated:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
