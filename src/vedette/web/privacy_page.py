"""The project settings page's data scrubbing section: the settings of the API
(``PUT /api/0/projects/{org}/{project}/``) as a form, and a preview that runs the rules in force
on a pasted event and lists what they would remove.

The preview stores nothing: the pasted event (or a stored one, picked by its id: what the
rules in force now would remove beyond what was removed when it was stored) is normalised and
scrubbed in memory, with the project's settings as saved and its organization's over them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection
from starlette.responses import RedirectResponse, Response

from vedette.domain.envelope import normalize_event_id
from vedette.processing.normalize import NormalizeContext, normalize_event
from vedette.processing.privacy_settings import (
    ORGANIZATION_DEFAULTS,
    PROJECT_DEFAULTS,
    PrivacySettings,
    SettingsError,
    effective,
    from_stored,
    scrub_config,
    updated,
)
from vedette.processing.scrub import scrub_event
from vedette.storage import audit, privacy, queries
from vedette.storage.accounts import Project
from vedette.storage.audit import AuditEvent
from vedette.web.core import Page, WebCore, WebError
from vedette.web.format import project_base

MAX_PREVIEW_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Removal:
    """One value the rules changed: where (``extra.gateway``) and by which rules."""

    path: str
    rules: str


@dataclass(frozen=True, slots=True)
class Preview:
    removals: list[Removal]
    scrubbed: str  # the event as it would be stored, pretty JSON


@dataclass(frozen=True, slots=True)
class PrivacyForm:
    """What the settings section shows: the project's own settings and what its organization
    requires on top (the rules in force are both)."""

    own: PrivacySettings
    organization: PrivacySettings
    in_force: PrivacySettings


def load_privacy(conn: Connection, project: Project) -> PrivacyForm:
    org_options, own_options = privacy.options_of_project(conn, project.id)
    own = from_stored(own_options, PROJECT_DEFAULTS)
    organization = from_stored(org_options, ORGANIZATION_DEFAULTS)
    return PrivacyForm(own, organization, effective(organization, own))


def _names(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def settings_from_form(page: Page, current: PrivacySettings) -> PrivacySettings:
    body: dict[str, Any] = {
        "dataScrubber": page.form.get("data_scrubber") == "1",
        "dataScrubberDefaults": page.form.get("data_scrubber_defaults") == "1",
        "scrubIPAddresses": page.form.get("scrub_ip_addresses") == "1",
        "sensitiveFields": _names(page.form.get("sensitive_fields")),
        "safeFields": _names(page.form.get("safe_fields")),
        "relayPiiConfig": page.form.get("relay_pii_config").strip() or None,
    }
    try:
        return updated(current, body)
    except SettingsError as error:
        raise WebError(400, f"{error.field}: {error}") from None


async def save_privacy(ui: WebCore, page: Page, project: Project) -> Response:
    def apply(conn: Connection) -> None:
        current = from_stored(privacy.project_options(conn, project.id), PROJECT_DEFAULTS)
        changed = settings_from_form(page, current)
        privacy.save_project_options(conn, project.id, changed.to_api(), time.time())
        audit.record(conn, project.organization_id, page.actor, AuditEvent.PROJECT_EDIT,
                     f"{project.slug}: data scrubbing", time.time(), changed.to_api())  # fmt: skip

    await ui.write(apply)
    return RedirectResponse(project_base(project) + "/settings/#privacy", 303)


def stored_event_text(conn: Connection, project: Project, raw_id: str) -> str:
    """A stored event of the project as JSON to preview (without the remarks of the rules it
    was stored with), or a 404."""
    event_id = normalize_event_id(raw_id.strip())
    stored = None if event_id is None else queries.get_event(conn, project.id, event_id)
    if stored is None:
        raise WebError(404, "This project has no event with that id.")
    data = {key: value for key, value in stored.data.items() if key != "_meta"}
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def _walk_remarks(meta: Any, path: tuple[str, ...], found: list[Removal]) -> None:
    if not isinstance(meta, dict):
        return
    slot = meta.get("")
    remarks = slot.get("rem") if isinstance(slot, dict) else None
    if isinstance(remarks, list):
        rules = [str(r[0]) for r in remarks if isinstance(r, list) and r and r[0][:1] != "!"]
        if rules:
            found.append(Removal(".".join(path), ", ".join(dict.fromkeys(rules))))
    for key, child in meta.items():
        if key:
            _walk_remarks(child, (*path, key), found)


def preview(form: PrivacyForm, pasted: str) -> Preview:
    """The pasted event as the rules in force would store it, and what they changed."""
    if len(pasted.encode()) > MAX_PREVIEW_BYTES:
        raise WebError(400, f"Paste at most {MAX_PREVIEW_BYTES // 1024} KB of event JSON.")
    try:
        payload = orjson.loads(pasted)
    except orjson.JSONDecodeError:
        raise WebError(400, "The pasted event is not JSON.") from None
    if not isinstance(payload, dict):
        raise WebError(400, "The pasted event must be a JSON object.")
    ctx = NormalizeContext(received=time.time(), event_id=None)
    event = normalize_event(payload, ctx)
    scrubbed = dict(scrub_event(event, scrub_config(form.organization, form.own)))
    removals: list[Removal] = []
    _walk_remarks(scrubbed.get("_meta"), (), removals)
    text = orjson.dumps(scrubbed, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    return Preview(removals, text)
