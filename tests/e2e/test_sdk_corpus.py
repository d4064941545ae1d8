"""The real SDKs against a live ``vedette serve``: every scenario of the SDK corpora.

tests/fixtures/corpora/sdk-python and sdk-node hold envelopes that the real ``sentry-sdk``
2.75 and ``@sentry/node`` 11.12 produced, with manifests that say what a server should
conclude from them. Here the same scenarios are re-enacted by our own drivers
(tests/e2e/sdk_scenarios), which use the real SDKs and their real HTTP transports against a
live server, and the stored result is checked through the HTTP JSON API: one issue per
``expected_group`` label and different issues for different labels, levels, messages,
exceptions, tags, users, release, environment, transactions and their spans, and the item
counts the server accepted per data category.

Events re-sent by a real SDK get new ids, so stored events are matched to manifest files by
content (exception types and values, message), never by the fixture's event ids.

All scenarios of one SDK go to one project, one scenario at a time, so that groupings across
scenarios (e.g. ``zde-site-A``: error_zero_division, error_zero_division_twice and
session_application) can be checked. Each scenario runs once per server; the
per-scenario tests and the grouping test share the runs.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from tests.conftest import LiveVedette, SessionShelf

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPORA = REPO / "tests" / "fixtures" / "corpora"
SCENARIO_DIR = HERE / "sdk_scenarios"
PYTHON_DRIVER = SCENARIO_DIR / "python_scenarios.py"
NODE_DIR = SCENARIO_DIR / "node"
NODE_DRIVER = NODE_DIR / "scenarios.mjs"
NODE_SDK_VERSION = "11.12.0"

SCENARIO_TIMEOUT = 120.0
LIST_LIMIT = 100


def _load_manifest(name: str) -> dict[str, Any]:
    with (CORPORA / name / "manifest.json").open(encoding="utf-8") as fh:
        manifest: dict[str, Any] = json.load(fh)
    return manifest


PYTHON_MANIFEST = _load_manifest("sdk-python")
NODE_MANIFEST = _load_manifest("sdk-node")


# ---------------------------------------------------------------------------
# What the lead's live-server fixture (tests/conftest.py) provides
# ---------------------------------------------------------------------------


class ProjectHandle(Protocol):
    org: str
    slug: str
    id: int
    dsn: str


class LiveServer(Protocol):
    base_url: str

    def create_project(self, slug: str) -> ProjectHandle: ...

    def api_get(self, path: str, **params: Any) -> Any: ...

    def api_put(self, path: str, json: dict[str, Any]) -> Any: ...

    def wait_processed(self, timeout: float = 30.0) -> None: ...


# ---------------------------------------------------------------------------
# Reading stored events in Sentry's shapes (tolerating both the flat normalised
# fields and Sentry's ``entries`` list)
# ---------------------------------------------------------------------------


def norm_id(value: Any) -> str:
    return str(value).replace("-", "").lower()


def interface(event: dict[str, Any], name: str) -> Any:
    if event.get(name) is not None:
        return event[name]
    for entry in event.get("entries") or []:
        if entry.get("type") == name:
            return entry.get("data")
    return None


def exceptions_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    data = interface(event, "exception")
    if isinstance(data, dict):
        data = data.get("values")
    return [exc for exc in data or [] if isinstance(exc, dict)]


def breadcrumbs_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    data = interface(event, "breadcrumbs")
    if isinstance(data, dict):
        data = data.get("values")
    return list(data or [])


def messages_of(event: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    logentry = event.get("logentry") or interface(event, "message") or {}
    if isinstance(logentry, dict):
        for key in ("formatted", "message"):
            if isinstance(logentry.get(key), str):
                found.add(logentry[key])
    if isinstance(event.get("message"), str):
        found.add(event["message"])
    elif isinstance(event.get("message"), dict):
        found.update(v for v in event["message"].values() if isinstance(v, str))
    return {m for m in found if m}


def tags_of(event_or_summary: dict[str, Any]) -> dict[str, str]:
    tags = event_or_summary.get("tags") or []
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    out: dict[str, str] = {}
    for tag in tags:
        if isinstance(tag, dict):
            out[str(tag.get("key"))] = str(tag.get("value"))
        elif isinstance(tag, list | tuple) and len(tag) == 2:
            out[str(tag[0])] = str(tag[1])
    return out


def trace_context(event: dict[str, Any]) -> dict[str, Any]:
    trace = (event.get("contexts") or {}).get("trace") or {}
    return trace if isinstance(trace, dict) else {}


def counts_by_category(section: Any) -> dict[str, int]:
    """``{"error": 2}`` or ``{"error": {"reason": 2}}`` -> ``{"error": 2}``."""
    out: dict[str, int] = {}
    if not isinstance(section, dict):
        return out
    for category, value in section.items():
        if isinstance(value, dict):
            out[category] = sum(int(v) for v in value.values() if isinstance(v, int | float))
        elif isinstance(value, int | float):
            out[category] = int(value)
    return out


def describe(event: dict[str, Any]) -> str:
    excs = [(e.get("type"), e.get("value")) for e in exceptions_of(event)]
    event_id = norm_id(event.get("eventID") or event.get("event_id") or event.get("id"))
    return f"{event_id}: {excs} {sorted(messages_of(event))}"


# ---------------------------------------------------------------------------
# Running a corpus: one project per SDK and server, one scenario at a time
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sdk:
    key: str
    manifest: dict[str, Any]
    # names that differ between the corpus generator and our drivers (module / file names)
    renames: tuple[tuple[str, str], ...] = ()

    def files(self) -> dict[str, dict[str, Any]]:
        return {entry["file"]: entry for entry in self.manifest["files"]}

    def scenario(self, name: str) -> dict[str, Any]:
        for spec in self.manifest["scenarios"]:
            if spec["name"] == name:
                return dict(spec)
        raise KeyError(name)

    def scenario_files(self, name: str) -> list[dict[str, Any]]:
        files = self.files()
        return [files[f] for f in self.scenario(name)["files"]]

    def rename(self, value: str) -> str:
        for old, new in self.renames:
            value = value.replace(old, new)
        return value


PYTHON = Sdk("python", PYTHON_MANIFEST, renames=(("gen_python.", "python_scenarios."),))
NODE = Sdk("node", NODE_MANIFEST, renames=(("gen_node.", "scenarios."),))


@dataclass
class StoredEvent:
    issue_id: str
    event: dict[str, Any]


@dataclass
class ScenarioRun:
    name: str
    returncode: int
    output: str
    errors: list[StoredEvent]
    transactions: list[dict[str, Any]]
    accepted: dict[str, int]
    dropped: dict[str, int]
    filtered: dict[str, int]
    seconds: float
    # manifest file -> stored event; files without a match listed in ``unmatched``
    matches: dict[str, StoredEvent] = field(default_factory=dict)
    transaction_matches: dict[str, dict[str, Any]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)

    def context(self) -> str:
        stored = "\n  ".join(describe(e.event) for e in self.errors) or "(none)"
        txns = ", ".join(
            f"{t.get('transaction')} [{trace_context(t).get('status')}]" for t in self.transactions
        )
        return (
            f"scenario {self.name}: exit code {self.returncode} after {self.seconds:.1f} s\n"
            f"stored error events:\n  {stored}\nstored transactions: {txns or '(none)'}\n"
            f"accepted: {self.accepted} dropped: {self.dropped} filtered: {self.filtered}\n"
            f"driver output (tail):\n{self.output[-3000:]}"
        )


class ForkServer:
    """``python_scenarios.py --serve``: one driver process per SDK and server, which forks a
    process per scenario (the SDK and FastAPI are imported once, not once per scenario)."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.outputs = Path(tempfile.mkdtemp(prefix="sdk-scenarios-"))
        self.process = subprocess.Popen(
            [*command, "--serve"], cwd=cwd, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip

    def run(self, dsn: str, name: str) -> tuple[int, str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        output = self.outputs / f"{name}.log"
        request = {"dsn": dsn, "scenario": name, "output": str(output)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], SCENARIO_TIMEOUT)
        if not ready:
            raise subprocess.TimeoutExpired(name, SCENARIO_TIMEOUT)
        answer = self.process.stdout.readline()
        text = output.read_text(errors="replace") if output.exists() else ""
        if not answer.strip():
            return -1, f"{text}\nthe fork server exited ({self.process.poll()})"
        return int(answer), text

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.outputs, ignore_errors=True)


class WarmNode:
    """``node scenarios.mjs --next``: every scenario still runs in a Node process of its own,
    but the next one is started while the current scenario runs and its results are read, so it
    has imported @sentry/node by the time it is given its DSN and scenario."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        self._command, self._cwd, self._env = command, cwd, env
        self._spare = self._spawn()

    def _spawn(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*self._command, "--next"], cwd=self._cwd, env=self._env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip

    def run(self, dsn: str, name: str) -> tuple[int, str]:
        process, self._spare = self._spare, self._spawn()
        request = json.dumps({"dsn": dsn, "scenario": name})
        try:
            output, _ = process.communicate(request, timeout=SCENARIO_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise
        return process.returncode, output

    def close(self) -> None:
        _kill(self._spare)


def _kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


class CorpusRunner:
    def __init__(self, server: LiveServer, sdk: Sdk, command: list[str], cwd: Path) -> None:
        self.server = server
        self.sdk = sdk
        self.command = command
        self.cwd = cwd
        self.project = server.create_project(f"corpus-{sdk.key}-{uuid.uuid4().hex[:8]}")
        self.known_events: set[str] = set()
        self.known_counts: dict[str, str] = {}  # issue id -> its event count when last read
        self.known_transactions: set[str] = set()
        self.runs: dict[str, ScenarioRun] = {}
        self.driver: ForkServer | WarmNode | None = None

    # -- API helpers ---------------------------------------------------------

    @property
    def project_path(self) -> str:
        return f"/api/0/projects/{self.project.org}/{self.project.slug}"

    def issues(self, query: str = "") -> list[dict[str, Any]]:
        """The issues of what the SDK sent: a cron monitor's issue (opened by the server for a
        failed check-in) has no event in the corpus and is left out."""
        result = self.server.api_get(f"{self.project_path}/issues/", query=query, limit=LIST_LIMIT)
        assert isinstance(result, list), result
        return [i for i in result if "monitor" not in (i.get("metadata") or {})]

    def issue(self, issue_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.server.api_get(f"/api/0/issues/{issue_id}/")
        return result

    def event(self, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.server.api_get(f"{self.project_path}/events/{event_id}/")
        return result

    def issue_event_ids(self, issue_id: str) -> list[str]:
        summaries = self.server.api_get(f"/api/0/issues/{issue_id}/events/", limit=LIST_LIMIT)
        return [norm_id(s.get("eventID") or s.get("id")) for s in summaries]

    def transaction_ids(self) -> set[str]:
        listed = self.server.api_get(
            f"{self.project_path}/events/", type="transaction", limit=LIST_LIMIT
        )
        return {
            norm_id(e.get("eventID") or e.get("id"))
            for e in listed
            if e.get("type", "transaction") == "transaction"
        }

    def stats(self) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """Item counts per category: accepted, dropped and filtered (not kept, reason named)."""
        stats = self.server.api_get(f"{self.project_path}/stats/")
        return (
            counts_by_category(stats.get("accepted")),
            counts_by_category(stats.get("dropped")),
            counts_by_category(stats.get("filtered")),
        )

    # -- running -------------------------------------------------------------

    def run(self, name: str) -> ScenarioRun:
        if name not in self.runs:
            self.runs[name] = self._run(name)
        return self.runs[name]

    def run_all(self) -> dict[str, ScenarioRun]:
        for spec in self.sdk.manifest["scenarios"]:
            self.run(spec["name"])
        return self.runs

    def close(self) -> None:
        if self.driver is not None:
            self.driver.close()
            self.driver = None

    def _run(self, name: str) -> ScenarioRun:
        accepted_before, dropped_before, filtered_before = self.stats()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
        started = time.monotonic()
        try:
            if self.driver is None:
                driver = ForkServer if self.sdk is PYTHON else WarmNode
                self.driver = driver(self.command, self.cwd, env)
            returncode, output = self.driver.run(self.project.dsn, name)
        except subprocess.TimeoutExpired as exc:
            self.close()
            returncode = -1
            partial = [
                x.decode(errors="replace") if isinstance(x, bytes) else x or ""
                for x in (exc.stdout, exc.stderr)
            ]
            output = f"timed out after {SCENARIO_TIMEOUT}s\n{''.join(partial)}"
        seconds = time.monotonic() - started
        self.server.wait_processed()

        errors: list[StoredEvent] = []
        for issue in self.issues():
            issue_id = str(issue["id"])
            if self.known_counts.get(issue_id) == issue["count"]:
                continue  # no new event in this issue: its events were read before
            self.known_counts[issue_id] = issue["count"]
            for event_id in self.issue_event_ids(issue_id):
                if event_id in self.known_events:
                    continue
                self.known_events.add(event_id)
                errors.append(StoredEvent(issue_id, self.event(event_id)))

        transactions: list[dict[str, Any]] = []
        for event_id in sorted(self.transaction_ids() - self.known_transactions):
            self.known_transactions.add(event_id)
            transactions.append(self.event(event_id))

        accepted_after, dropped_after, filtered_after = self.stats()
        run = ScenarioRun(
            name=name,
            returncode=returncode,
            output=output,
            errors=errors,
            transactions=transactions,
            accepted=_delta(accepted_before, accepted_after),
            dropped=_delta(dropped_before, dropped_after),
            filtered=_delta(filtered_before, filtered_after),
            seconds=seconds,
        )
        self._match(run)
        return run

    def _match(self, run: ScenarioRun) -> None:
        """Pair each manifest file holding an event or a transaction with a stored one."""
        free = list(run.errors)
        free_txns = list(run.transactions)
        for entry in self.sdk.scenario_files(run.name):
            if entry.get("event_count"):
                found = next((s for s in free if event_matches(entry, s.event)), None)
                if found is None:
                    run.unmatched.append(entry["file"])
                else:
                    free.remove(found)
                    run.matches[entry["file"]] = found
            elif entry.get("transaction_count"):
                txn = next((t for t in free_txns if self.transaction_matches(entry, t)), None)
                if txn is None:
                    run.unmatched.append(entry["file"])
                else:
                    free_txns.remove(txn)
                    run.transaction_matches[entry["file"]] = txn

    def transaction_matches(self, entry: dict[str, Any], txn: dict[str, Any]) -> bool:
        if txn.get("transaction") != self.sdk.rename(entry["transaction"]):
            return False
        return entry.get("status") is None or trace_context(txn).get("status") == entry["status"]


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    keys = set(before) | set(after)
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) != before.get(k, 0)
    }


def expected_exceptions(entry: dict[str, Any]) -> list[tuple[str | None, str | None]] | None:
    expected = entry.get("expected") or {}
    if "exceptions" in expected:
        return [(t, v) for t, v in expected["exceptions"]]
    return None


def event_matches(entry: dict[str, Any], event: dict[str, Any]) -> bool:
    expected = entry.get("expected") or {}
    wanted = expected_exceptions(entry)
    if wanted is not None:
        stored = [(e.get("type"), e.get("value")) for e in exceptions_of(event)]
        if len(stored) != len(wanted):
            return False
        for (want_type, want_value), (got_type, got_value) in zip(wanted, stored, strict=True):
            if want_type != got_type or (want_value is not None and want_value != got_value):
                return False
    if expected.get("message") is not None and expected["message"] not in messages_of(event):
        return False
    return wanted is not None or expected.get("message") is not None


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def node_command() -> list[str]:
    """``node scenarios.mjs`` with @sentry/node installed (at most one ``npm ci`` per session)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(f"the Node corpus needs node and npm on PATH (node={node}, npm={npm})")
    installed = NODE_DIR / "node_modules" / "@sentry" / "node" / "package.json"
    version = None
    if installed.exists():
        version = json.loads(installed.read_text(encoding="utf-8")).get("version")
    if version != NODE_SDK_VERSION:
        verb = "ci" if (NODE_DIR / "package-lock.json").exists() else "install"
        proc = subprocess.run(
            [npm, verb, "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"`npm {verb}` in {NODE_DIR} failed ({proc.returncode}):\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
    return [node, str(NODE_DRIVER)]


@pytest.fixture(scope="session")
def python_corpus(live_vedette: LiveVedette, shelf: SessionShelf) -> CorpusRunner:
    """One runner per server and session (kept on the shelf): each scenario runs once."""
    return shelf.keep(
        ("python_corpus", live_vedette.backend),
        lambda: CorpusRunner(
            live_vedette, PYTHON, [sys.executable, str(PYTHON_DRIVER)], SCENARIO_DIR
        ),
        CorpusRunner.close,
    )


@pytest.fixture(scope="session")
def node_corpus(
    live_vedette: LiveVedette, shelf: SessionShelf, node_command: list[str]
) -> CorpusRunner:
    return shelf.keep(
        ("node_corpus", live_vedette.backend),
        lambda: CorpusRunner(live_vedette, NODE, node_command, NODE_DIR),
        CorpusRunner.close,
    )


# ---------------------------------------------------------------------------
# Per-scenario checks
# ---------------------------------------------------------------------------


def item_headers(entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for entry in entries:
        yield from entry.get("items") or [{"type": t} for t in entry.get("item_types", [])]


def expected_accepted(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Item counts per data category that the manifest files of one scenario imply."""
    counts: Counter[str] = Counter()
    for item in item_headers(entries):
        kind = item.get("type")
        quantity = int(item.get("item_count") or 1)
        category = {
            "event": "error",
            "transaction": "transaction",
            "attachment": "attachment",
            "check_in": "monitor",
            "profile": "profile",
            "span": "span",
            "log": "log_item",
            "trace_metric": "trace_metric",
            "session": "session",
            "sessions": "session",
            "client_report": "internal",
        }.get(str(kind))
        assert category is not None, f"unknown item type {kind!r} in the manifest"
        counts[category] += quantity
    return dict(counts)


NOT_KEPT = ("trace_metric",)  # docs/protocol.md, "Item types not kept"


def check_stats(sdk: Sdk, run: ScenarioRun) -> None:
    entries = sdk.scenario_files(run.name)
    expected = expected_accepted(entries)
    accepted = dict(run.accepted)
    # Sentry counts message events as "default"; accept either split.
    accepted["error"] = accepted.get("error", 0) + accepted.pop("default", 0)
    has_transactions = expected.get("transaction", 0) > 0
    for category in ("error", "transaction", "attachment", "monitor", "log_item", "profile"):
        assert accepted.get(category, 0) == expected.get(category, 0), (
            f"accepted {category!r} items: expected {expected.get(category, 0)}, "
            f"got {accepted.get(category, 0)}"
        )
    # What Vedette does not keep yet is counted as filtered, with a named reason, never accepted.
    for category in NOT_KEPT:
        assert accepted.get(category, 0) == 0, f"{category!r} items counted as accepted"
        assert run.filtered.get(category, 0) == expected.get(category, 0), (
            f"filtered {category!r} items: expected {expected.get(category, 0)}, "
            f"got {run.filtered.get(category, 0)}"
        )
    if not has_transactions:
        # with transactions, whether their spans count in the "span" category is a choice
        assert accepted.get("span", 0) == expected.get("span", 0), "accepted span count"
    if expected.get("session"):
        assert accepted.get("session", 0) >= 1, "no accepted session item"
    else:
        assert accepted.get("session", 0) == 0, "unexpected accepted session items"
    if expected.get("internal"):
        assert accepted.get("internal", 0) >= 1, "no accepted client report"
    # An SDK may send a client report in any scenario when it discarded something on its own
    # (timing-dependent: seen once from sentry-sdk in fastapi_error_traced under load), and a
    # server may file its discard counts under "dropped". Without one, nothing is dropped.
    if not accepted.get("internal"):
        assert not any(run.dropped.values()), f"the server dropped items: {run.dropped}"


def check_error_event(sdk: Sdk, entry: dict[str, Any], stored: StoredEvent) -> None:
    event, where = stored.event, f"{entry['file']} -> {describe(stored.event)}"
    expected = entry.get("expected") or {}
    if event.get("groupID") is not None:
        assert str(event["groupID"]) == stored.issue_id, f"{where}: groupID vs issue"
    for key in ("level", "release", "environment", "platform"):
        if entry.get(key) is not None:
            assert event.get(key) == entry[key], f"{where}: {key}"
    excs = exceptions_of(event)
    for want, got in zip(entry.get("exceptions") or [], excs, strict=False):
        mechanism = got.get("mechanism") or {}
        if want.get("mechanism") is not None:
            assert mechanism.get("type") == want["mechanism"], f"{where}: mechanism type"
        if want.get("handled") is not None:
            assert mechanism.get("handled") == want["handled"], f"{where}: mechanism.handled"
        if want.get("frames"):
            frames = (got.get("stacktrace") or {}).get("frames") or []
            assert frames, f"{where}: stack trace of {want.get('type')} lost"
    if expected.get("handled") is not None:
        assert excs, where
        assert (excs[-1].get("mechanism") or {}).get("handled") == expected["handled"], where
    if entry.get("user_id") is not None:
        assert (event.get("user") or {}).get("id") == entry["user_id"], f"{where}: user.id"
    tags = tags_of(event)
    for key, value in (entry.get("tags") or {}).items():
        assert tags.get(key) == value, f"{where}: tag {key}={value!r} (stored tags {tags})"
    if entry.get("breadcrumbs") is not None:
        assert len(breadcrumbs_of(event)) == entry["breadcrumbs"], f"{where}: breadcrumbs"
    if entry.get("transaction") is not None:
        assert event.get("transaction") == sdk.rename(entry["transaction"]), f"{where}: transaction"
    if entry.get("has_request"):
        request = interface(event, "request") or {}
        assert request.get("url"), f"{where}: request interface lost"
    if entry.get("pii"):
        check_pii(entry, event)


def check_pii(entry: dict[str, Any], event: dict[str, Any]) -> None:
    """What the SDK filtered stays filtered; what PII mode left out stays out."""
    pii = entry["pii"]
    request = interface(event, "request") or {}
    assert request.get("url") == pii["request.url"], "request.url"
    dumped = json.dumps(request, ensure_ascii=False)
    for secret in ("hunter2", "eyJhbGciOiJIUzI1NiJ9.secret", "abc123", "tok456"):
        assert secret not in dumped, f"{entry['file']}: {secret!r} in the stored request"
    sent_headers = pii["request.headers"]
    if sent_headers.get("x-api-key") == "[Filtered]":
        assert "key-789" not in dumped, f"{entry['file']}: x-api-key in the stored request"
        assert "203.0.113.7" not in dumped, f"{entry['file']}: client IP in the stored request"
    if pii.get("request.cookies") is None:
        cookies = request.get("cookies")
        assert not cookies or "theme" not in json.dumps(cookies), "cookies were not sent"


def check_transaction(sdk: Sdk, entry: dict[str, Any], txn: dict[str, Any]) -> None:
    where = f"{entry['file']} -> {txn.get('transaction')}"
    expected = entry.get("expected") or {}
    assert txn.get("type", "transaction") == "transaction", where
    assert txn.get("groupID") is None, f"{where}: a transaction belongs to no issue"
    for key in ("release", "environment", "platform"):
        if entry.get(key) is not None:
            assert txn.get(key) == entry[key], f"{where}: {key}"
    if entry.get("status") is not None:
        assert trace_context(txn).get("status") == entry["status"], f"{where}: status"
    spans = txn.get("spans") or []
    if entry.get("span_count") is not None:
        assert len(spans) == entry["span_count"], f"{where}: {len(spans)} spans"
    ops = {span.get("op") for span in spans}
    for op in expected.get("span_ops_include") or entry.get("span_ops") or []:
        assert op in ops, f"{where}: no {op!r} span (ops {sorted(map(str, ops))})"
    tags = tags_of(txn)
    for key, value in (entry.get("tags") or {}).items():
        assert tags.get(key) == value, f"{where}: tag {key}={value!r} (stored tags {tags})"


def check_issue(entries: list[dict[str, Any]], issue: dict[str, Any]) -> None:
    """An issue holding the events of ``entries`` (manifest files of one label)."""
    where = f"{[e['file'] for e in entries]} -> issue {issue.get('id')} {issue.get('title')!r}"
    title = str(issue.get("title") or "")
    assert title, f"{where}: no title"
    names: list[str] = []
    for entry in entries:
        names += [t for t, _ in expected_exceptions(entry) or [] if t]
        message = (entry.get("expected") or {}).get("message")
        if message is not None:
            names.append(message[:30])
    assert any(name in title for name in names), f"{where}: title names none of {names}"
    levels = {entry["level"] for entry in entries if entry.get("level") is not None}
    if len(levels) == 1:
        assert issue.get("level") == levels.pop(), f"{where}: level"
    if any(entry.get("user_id") is not None for entry in entries):
        assert int(issue.get("userCount") or 0) >= 1, f"{where}: userCount"
    tags = {(k, v) for entry in entries for k, v in (entry.get("tags") or {}).items()}
    if tags:
        top = {
            (tag.get("key"), value.get("value"))
            for tag in issue.get("tags") or []
            for value in tag.get("topValues") or []
        }
        for key, value in sorted(tags):
            assert (key, value) in top, f"{where}: issue tags lack {key}={value}: {sorted(top)}"


def check_scenario(corpus: CorpusRunner, name: str) -> None:
    sdk = corpus.sdk
    spec = sdk.scenario(name)
    run = corpus.run(name)
    info = run.context()
    exit_code, expected_exit_code = run.returncode, spec.get("exit_code", 0)
    assert exit_code == expected_exit_code, f"driver exit code\n{info}"
    unmatched = run.unmatched
    assert not unmatched, f"no stored event or transaction for {unmatched}\n{info}"

    entries = sdk.scenario_files(name)
    event_entries = [e for e in entries if e.get("event_count")]
    assert len(run.errors) == len(event_entries), f"stored error events\n{info}"
    if not any(item.get("type") == "span" for item in item_headers(entries)):
        # (a server may or may not build transactions out of streamed spans)
        txn_count = sum(int(e.get("transaction_count") or 0) for e in entries)
        assert len(run.transactions) == txn_count, f"stored transactions\n{info}"

    for entry in event_entries:
        check_error_event(sdk, entry, run.matches[entry["file"]])
    for entry in entries:
        if entry["file"] in run.transaction_matches:
            check_transaction(sdk, entry, run.transaction_matches[entry["file"]])

    # groupings within the scenario: one issue per label, different labels apart
    label_issues: dict[str, set[str]] = {}
    for entry in event_entries:
        if entry.get("expected_group"):
            label_issues.setdefault(entry["expected_group"], set()).add(
                run.matches[entry["file"]].issue_id
            )
    for label, ids in label_issues.items():
        assert len(ids) == 1, f"label {label!r} spread over issues {ids}\n{info}"
    ids_by_label = {label: next(iter(ids)) for label, ids in label_issues.items()}
    assert len(set(ids_by_label.values())) == len(ids_by_label), f"labels merged: {ids_by_label}"

    by_issue: dict[str, list[dict[str, Any]]] = {}
    for entry in event_entries:
        by_issue.setdefault(run.matches[entry["file"]].issue_id, []).append(entry)
    for issue_id, issue_entries in by_issue.items():
        check_issue(issue_entries, corpus.issue(issue_id))

    check_traces(entries, run)
    check_stats(sdk, run)


def check_traces(entries: list[dict[str, Any]], run: ScenarioRun) -> None:
    """Stored events and transactions share a trace exactly where the manifest's files do
    (e.g. an error raised in a traced request and that request's failed transaction)."""
    stored: dict[str, dict[str, Any]] = {f: m.event for f, m in run.matches.items()}
    stored.update(run.transaction_matches)
    traced = [e for e in entries if e.get("trace_id") and e["file"] in stored]
    for i, first in enumerate(traced):
        for second in traced[i + 1 :]:
            same_in_manifest = first["trace_id"] == second["trace_id"]
            first_trace = trace_context(stored[first["file"]]).get("trace_id")
            second_trace = trace_context(stored[second["file"]]).get("trace_id")
            assert first_trace and second_trace, f"{first['file']}/{second['file']}: no trace_id"
            assert (first_trace == second_trace) == same_in_manifest, (
                f"{first['file']} and {second['file']}: the manifest says "
                f"{'one trace' if same_in_manifest else 'two traces'}, "
                f"stored {first_trace} / {second_trace}"
            )


def check_grouping(corpus: CorpusRunner) -> None:
    """The manifest's grouping rule over the whole corpus, plus issue search."""
    runs = corpus.run_all()
    sdk = corpus.sdk
    files = sdk.files()
    matched: dict[str, StoredEvent] = {}
    for run in runs.values():
        matched.update(run.matches)

    groups: dict[str, list[str]] = sdk.manifest["grouping"]["groups"]
    by_label: dict[str, str] = {}
    for label, label_files in groups.items():
        missing = [f for f in label_files if f not in matched]
        assert not missing, f"label {label!r}: no stored event for {missing}"
        ids = {matched[f].issue_id for f in label_files}
        assert len(ids) == 1, f"label {label!r}: files {label_files} landed in issues {ids}"
        by_label[label] = ids.pop()
    merged = Counter(by_label.values())
    clashes = {
        issue_id: [label for label, i in by_label.items() if i == issue_id]
        for issue_id, n in merged.items()
        if n > 1
    }
    assert not clashes, f"different labels share an issue: {clashes}"

    issues = {str(issue["id"]): issue for issue in corpus.issues()}
    unlabeled = {
        m.issue_id
        for f, m in matched.items()
        if not files[f].get("expected_group") and m.issue_id not in by_label.values()
    }
    assert set(issues) == set(by_label.values()) | unlabeled, "issues without a manifest file"

    for label, issue_id in by_label.items():
        issue = issues[issue_id]
        label_entries = [files[f] for f in groups[label]]
        assert int(issue["count"]) == len(label_entries), f"{label}: count {issue['count']}"
        users = {f["user_id"] for f in label_entries if f.get("user_id")}
        if users:
            assert int(issue.get("userCount") or 0) == len(users), f"{label}: userCount"
        assert issue.get("status", "unresolved") == "unresolved", f"{label}: status"

    def search(query: str) -> set[str]:
        return {str(issue["id"]) for issue in corpus.issues(query)}

    everything = set(issues)
    release = sdk.manifest["release"]
    assert search("is:unresolved") == everything
    assert search(f"environment:{sdk.manifest['environment']}") == everything
    assert search(f"release:{release}") == everything
    assert search("environment:nowhere") == set()
    for level in ("info", "warning", "error", "fatal"):
        want = {
            issue_id
            for label, issue_id in by_label.items()
            if files[groups[label][0]].get("level") == level
        }
        assert want <= search(f"level:{level}"), f"level:{level}"
    for label, label_files in groups.items():
        entry = files[label_files[0]]
        for key, value in (entry.get("tags") or {}).items():
            assert by_label[label] in search(f"{key}:{value}"), f"{key}:{value}"
        if entry.get("user_id"):
            want = {
                m.issue_id
                for f, m in matched.items()
                if files[f].get("user_id") == entry["user_id"]
            }
            assert search(f"user.id:{entry['user_id']}") == want, f"user.id:{entry['user_id']}"


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

PYTHON_SCENARIOS = [spec["name"] for spec in PYTHON_MANIFEST["scenarios"]]
NODE_SCENARIOS = [spec["name"] for spec in NODE_MANIFEST["scenarios"]]


@pytest.mark.parametrize("scenario", PYTHON_SCENARIOS)
def test_python_sdk_scenario(python_corpus: CorpusRunner, scenario: str) -> None:
    check_scenario(python_corpus, scenario)


def test_python_sdk_grouping(python_corpus: CorpusRunner) -> None:
    check_grouping(python_corpus)


@pytest.mark.parametrize("scenario", NODE_SCENARIOS)
def test_node_sdk_scenario(node_corpus: CorpusRunner, scenario: str) -> None:
    check_scenario(node_corpus, scenario)


def test_node_sdk_grouping(node_corpus: CorpusRunner) -> None:
    check_grouping(node_corpus)


def test_python_driver_covers_the_manifest() -> None:
    proc = subprocess.run(
        [sys.executable, str(PYTHON_DRIVER), "--list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.split() == PYTHON_SCENARIOS


def test_node_driver_covers_the_manifest(node_command: list[str]) -> None:
    proc = subprocess.run(
        [*node_command, "--list"], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.split() == NODE_SCENARIOS
