"""Schemathesis hooks: the rules JSON Schema cannot state, each listed here by name.

The property-based run (scripts/api-fuzz.sh) fails on every finding except a rejected
schema-valid request whose 400 problem names only rules of this list: a rule across fields,
against the clock or against what is already stored. The OpenAPI document's descriptions
state each of them. Anything else, including a 400 that names one of these rules and another
field besides, fails the run.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
from datetime import datetime, timezone

import schemathesis

# name -> (field, words of the service's message for it)
CROSS_FIELD_RULES = {
    "until-not-before-since": ("until", "must not be earlier than since"),
    "end-not-before-start": ("end_time", "must not be earlier than start_time"),
    "no-own-parent": ("parent_event_id", "an event cannot be its own parent"),
    "event-timestamp-window": ("event_timestamp", "must lie between"),
    "sent-at-window": ("sent_at", "must lie between"),
    "parent-date-needs-parent": ("parent_event_date", "parent_event_id"),
    "detail-key-with-value": ("detail_value", "is required when detail_key is given"),
    "detail-value-with-key": ("detail_key", "is required when detail_value is given"),
    "cursor-or-offset": ("cursor", "cannot be combined with offset"),
    "content-hash-of-content": ("content_hash", "does not match the SHA-256 of content"),
    # event_data is any JSON object; PostgreSQL cannot store NUL in any of its strings or keys.
    "event-data-without-nul": ("event_data", "must not contain the NUL character"),
    "parameters-without-nul": ("parameters", "must not contain the NUL character"),
    # A consistency proof goes from the smaller tree to the larger.
    "first-not-above-second": ("first", "at most second"),
    # A cursor is opaque: only a next_cursor of an earlier page is one.
    "cursor-from-a-page": ("cursor", "is not a cursor this service issued"),
}
# The original's remediation-history problems carry a `detail`, not field errors: problem type
# -> {rule name: words of the detail}. A window is a Go duration or days, positive, and tier 2
# longer than tier 1: a grammar and an order JSON Schema cannot state.
DETAIL_RULES = {
    "invalid-parameter": {
        "window-is-a-duration": "must be a valid duration string",
        "window-is-positive": "must be a positive duration",
        "tier2-longer-than-tier1": "tier2Window must be greater than tier1Window",
    },
}
# Problem types that are rules against stored state, not against the request alone.
STATE_RULES = {
    "version-not-incremented": "a registered version must be greater than the name's latest",
}

ACCEPTED: dict[str, int] = {}
_FRESH = itertools.count(1)


def _named_rules(body: dict) -> list[str] | None:
    """The rule names a 400 problem consists of, or None if anything in it is not a named rule."""
    slug = str(body.get("type", "")).rsplit("/", 1)[-1]
    if slug in STATE_RULES:
        return [slug]
    detail = str(body.get("detail", ""))
    by_detail = [name for name, words in DETAIL_RULES.get(slug, {}).items() if words in detail]
    if by_detail:
        return by_detail
    errors = body.get("field_errors") or {}
    if slug != "validation-error" or not errors:
        return None
    names = []
    for field, message in errors.items():
        bare = field.rsplit("].", 1)[-1]  # `[3].event_timestamp` -> `event_timestamp`
        for part in message.split("; "):
            match = [
                name
                for name, (rule_field, words) in CROSS_FIELD_RULES.items()
                if bare == rule_field and words in part
            ]
            if not match:
                return None
            names.extend(match)
    return names


@schemathesis.hook
def map_case(context, case):
    """Keeps generated schema-valid writes inside the clock and hash rules above, so they
    reach storage instead of stopping at those rules (negative cases are left alone)."""
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive:
        return case
    method, path, body = case.operation.method.upper(), case.operation.path, case.body
    now = datetime.now(timezone.utc).isoformat()
    if method != "POST":
        return case
    if path == "/api/v1/audit/events" and isinstance(body, dict) and isinstance(body.get("event_timestamp"), str):
        body["event_timestamp"] = now
    elif path == "/api/v1/audit/events/batch" and isinstance(body, list):
        for item in body:
            if isinstance(item, dict) and isinstance(item.get("event_timestamp"), str):
                item["event_timestamp"] = now
    elif path == "/api/v1/audit/notifications" and isinstance(body, dict) and isinstance(body.get("sent_at"), str):
        body["sent_at"] = now
    elif path == "/api/v1/workflows" and isinstance(body, dict):
        # A fresh name per registration: generated versions would mostly stop at
        # version-not-incremented against whatever was registered under the same short name.
        name = body.get("workflow_name")
        if isinstance(name, str) and name:
            body["workflow_name"] = f"{name[:200]}-{next(_FRESH)}"
        content, stated = body.get("content"), body.get("content_hash")
        if isinstance(content, str) and isinstance(stated, str) and stated:
            body["content_hash"] = hashlib.sha256(content.encode()).hexdigest()
    return case


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keep every failure except a 400 that names only the rules above."""
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code != 400:
        return True
    try:
        body = json.loads(response.content)
    except ValueError:
        return True
    names = _named_rules(body)
    if names is None:
        return True
    for name in names:
        ACCEPTED[name] = ACCEPTED.get(name, 0) + 1
    return False


@atexit.register
def _report() -> None:
    if ACCEPTED:
        named = ", ".join(f"{name} x{count}" for name, count in sorted(ACCEPTED.items()))
        print(f"Rejections by the named cross-field rules (not findings): {named}")
