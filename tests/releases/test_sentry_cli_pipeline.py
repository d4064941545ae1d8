"""The real sentry-cli through a release pipeline against a live server: each step exits 0 and
what it did shows in the API."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import LiveVedette, ProjectHandle

from vedette.storage import accounts, tokens


def run_sentry_cli(
    server: LiveVedette, project: ProjectHandle, *args: str, cwd: Path, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The real sentry-cli against the server, as the project's pipeline would run it."""
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(cwd),
        "SENTRY_URL": server.base_url,
        "SENTRY_AUTH_TOKEN": token or server.token,
        "SENTRY_ORG": project.org,
        "SENTRY_PROJECT": project.slug,
        "SENTRY_DSN": project.dsn,
        "SENTRY_DISABLE_UPDATE_CHECK": "true",
    }
    return subprocess.run(
        ["sentry-cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def sentry_cli(
    server: LiveVedette, project: ProjectHandle, *args: str, cwd: Path, token: str | None = None
) -> str:
    done = run_sentry_cli(server, project, *args, cwd=cwd, token=token)
    assert done.returncode == 0, f"sentry-cli {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def git_repo(path: Path, authors: list[tuple[str, str]]) -> list[str]:
    """A repository with one commit per author; the shas, newest first."""
    path.mkdir()
    git(path, "init", "-q")
    git(path, "remote", "add", "origin", "https://git.example.com/acme/web.git")
    for number, (name, email) in enumerate(authors):
        (path / f"module_{number}.py").write_text(f"VALUE = {number}\n")
        git(path, "add", ".")
        git(path, "-c", f"user.name={name}", "-c", f"user.email={email}",
            "commit", "-q", "-m", f"Change {number}")  # fmt: skip
    return git(path, "log", "--format=%H").split()


def write_bundle(dist: Path) -> Path:
    """A minified script and its source map, as a bundler leaves them."""
    dist.mkdir()
    (dist / "app.min.js").write_text(
        'function a(b){throw new Error(b)}a("boom");\n//# sourceMappingURL=app.min.js.map\n'
    )
    (dist / "app.min.js.map").write_text(
        '{"version":3,"file":"app.min.js","sources":["app.js"],"names":["fail"],'
        '"mappings":"AAAA","sourcesContent":["function fail(m){throw new Error(m)}\\n"]}'
    )
    return dist


def new_project(server: LiveVedette) -> ProjectHandle:
    return server.create_project("web", org=f"o-{uuid.uuid4().hex[:8]}")


def release(server: LiveVedette, project: ProjectHandle, version: str) -> dict[str, Any]:
    found: dict[str, Any] = server.api_get(
        f"/api/0/organizations/{project.org}/releases/{version}/"
    )
    return found


def test_release_pipeline(live_vedette: LiveVedette, tmp_path: Path) -> None:
    server, project = live_vedette, new_project(live_vedette)
    repo = tmp_path / "repo"
    shas = git_repo(repo, [("Ada", "ada@example.com"), ("Grace", "grace@example.com")] * 2)
    cli = lambda *args: sentry_cli(server, project, *args, cwd=repo)  # noqa: E731

    assert "project:releases" in cli("info")
    assert "Created release 2.0.0" in cli("releases", "new", "2.0.0")
    cli("releases", "set-commits", "2.0.0", "--auto")
    details = release(server, project, "2.0.0")
    assert details["commitCount"] == 4
    assert details["lastCommit"]["id"] == shas[0]
    assert {a["email"] for a in details["authors"]} == {"ada@example.com", "grace@example.com"}
    assert [p["slug"] for p in details["projects"]] == ["web"]

    bundle = write_bundle(tmp_path / "dist")
    assert "artifact bundle" in cli("sourcemaps", "upload", "--release", "2.0.0", str(bundle))
    assert "all files are on the server" in cli("sourcemaps", "upload", "--release", "2.0.0",
                                                str(bundle))  # fmt: skip
    bundles = server.api_get(f"/api/0/projects/{project.org}/web/files/artifact-bundles/")
    assert [(b["release"], b["size"] > 0) for b in bundles] == [("2.0.0", True)]

    cli("releases", "finalize", "2.0.0")
    cli("deploys", "new", "--release", "2.0.0", "--env", "staging", "--name", "canary")
    cli("releases", "deploys", "2.0.0", "new", "--env", "production")
    assert "production" in cli("releases", "deploys", "2.0.0", "list")
    assert "2.0.0" in cli("releases", "info", "2.0.0")
    assert "No issues found" in cli("issues", "list")
    assert "2.0.0" in cli("releases", "list")  # listed before it has any event
    cli("send-event", "--message", "Checkout failed", "--release", "2.0.0")
    server.wait_processed()
    assert "Checkout failed" in cli("issues", "list")
    assert "2.0.0" in cli("releases", "list")

    details = release(server, project, "2.0.0")
    assert details["newGroups"] == 1
    assert details["firstEvent"] is not None and details["lastEvent"] is not None
    assert details["dateReleased"] is not None
    assert details["deployCount"] == 2
    assert details["lastDeploy"]["environment"] == "production"
    deploys = server.api_get(f"/api/0/organizations/{project.org}/releases/2.0.0/deploys/")
    assert sorted((d["environment"], d["name"]) for d in deploys) == [
        ("production", None),
        ("staging", "canary"),
    ]
    listed = server.api_get(f"/api/0/organizations/{project.org}/releases/", project="web")
    assert [r["version"] for r in listed] == ["2.0.0"]


def test_explicit_commits_need_a_known_repository(
    live_vedette: LiveVedette, tmp_path: Path
) -> None:
    server, project = live_vedette, new_project(live_vedette)
    repo = tmp_path / "repo"
    shas = git_repo(repo, [("Ada", "ada@example.com")] * 3)
    cli = lambda *args: sentry_cli(server, project, *args, cwd=repo)  # noqa: E731
    server._check(
        server.http.post(
            f"/api/0/organizations/{project.org}/repos/",
            json={"name": "acme/web", "url": "https://git.example.com/acme/web"},
            headers={"Authorization": f"Bearer {server.token}"},
        )
    )
    cli("releases", "new", "3.0.0")
    cli("releases", "set-commits", "3.0.0", "--commit", f"acme/web@{shas[2]}..{shas[0]}")
    commits = server.api_get(f"/api/0/organizations/{project.org}/releases/3.0.0/commits/")
    assert [(c["id"], c["repository"]["name"]) for c in commits] == [(shas[0], "acme/web")]

    cli("releases", "set-commits", "3.0.0", "--local")
    commits = server.api_get(f"/api/0/organizations/{project.org}/releases/3.0.0/commits/")
    assert [c["id"] for c in commits] == shas
    repos = server.api_get(f"/api/0/organizations/{project.org}/repos/")
    assert "acme/web" in {r["name"] for r in repos}


def test_read_only_tokens_cannot_create_releases(live_vedette: LiveVedette) -> None:
    server, project = live_vedette, new_project(live_vedette)
    with server.db.write() as conn:
        found = accounts.find_project(conn, project.org, project.slug)
        assert found is not None
        token = tokens.create_token(conn, "ro", found.organization_id, read_only=True)
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/0/organizations/{project.org}/releases/"
    assert server.http.post(path, json={"version": "1"}, headers=headers).status_code == 403
    assert server.http.get(path, headers=headers).json() == []
    assert server.http.get("/api/0/", headers=headers).json()["auth"]["scopes"] == [
        "alerts:read", "event:read", "member:read", "org:read", "project:read", "team:read",
    ]  # fmt: skip
    other = server.http.get("/api/0/organizations/acme/releases/", headers=headers)
    assert other.status_code == 404


def test_an_empty_cursor_is_the_first_page(live_vedette: LiveVedette) -> None:
    server, project = live_vedette, new_project(live_vedette)
    answer = httpx.get(
        f"{server.base_url}/api/0/projects/{project.org}/{project.slug}/issues/?cursor=",
        headers={"Authorization": f"Bearer {server.token}"},
    )
    assert answer.status_code == 200
    assert answer.json() == []


def test_debug_files_are_accepted_and_stored(live_vedette: LiveVedette, tmp_path: Path) -> None:
    server, project = live_vedette, new_project(live_vedette)
    (tmp_path / "bin").mkdir()
    binary = tmp_path / "bin" / "true"
    binary.write_bytes(Path("/usr/bin/true").read_bytes())
    cli = lambda *args: sentry_cli(server, project, *args, cwd=tmp_path)  # noqa: E731
    assert "Found 1 debug information file" in cli("debug-files", "upload", str(binary.parent))
    assert "all files are on the server" in cli("debug-files", "upload", str(binary.parent))
    stored = server.api_get(f"/api/0/projects/{project.org}/web/files/dsyms/")
    assert [(f["objectName"], f["size"]) for f in stored] == [("true", binary.stat().st_size)]
    assert stored[0]["debugId"]


def test_release_files_of_the_older_api(live_vedette: LiveVedette) -> None:
    server, project = live_vedette, new_project(live_vedette)
    headers = {"Authorization": f"Bearer {server.token}"}
    cli_release = {"version": "4.0.0", "projects": ["web"]}
    org = f"/api/0/organizations/{project.org}"
    assert (
        server.http.post(f"{org}/releases/", json=cli_release, headers=headers).status_code == 201
    )
    files = f"{org}/releases/4.0.0/files/"
    form = {"name": "~/app.min.js.map", "dist": "web"}
    sent = server.http.post(files, data=form, files={"file": ("m", b"{}")}, headers=headers)
    assert sent.status_code == 201, sent.text
    again = server.http.post(files, data=form, files={"file": ("m", b"{}")}, headers=headers)
    assert again.status_code == 409
    listed = server.api_get(files)
    assert [(f["name"], f["dist"], f["size"], f["sha1"]) for f in listed] == [
        ("~/app.min.js.map", "web", 2, "bf21a9e8fbc5a3846fb05b4fa0859e0917b2202f")
    ]
    bad = server.http.post(
        f"{org}/chunk-upload/", files={"file": ("0" * 40, b"x")}, headers=headers
    )
    assert bad.status_code == 400


def test_uploads_are_checked_and_bounded(live_vedette: LiveVedette) -> None:
    server, project = live_vedette, new_project(live_vedette)
    headers = {"Authorization": f"Bearer {server.token}"}
    org = f"/api/0/organizations/{project.org}"
    chunk = b"console.log(1)\n"
    checksum = hashlib.sha1(chunk).hexdigest()
    sent = server.http.post(
        f"{org}/chunk-upload/", files={"file": (checksum, chunk)}, headers=headers
    )
    assert sent.status_code == 200
    assemble = f"{org}/artifactbundle/assemble/"
    wrong = {"checksum": "0" * 40, "chunks": [checksum], "projects": ["web"]}
    answer = server.http.post(assemble, json=wrong, headers=headers).json()
    assert (answer["state"], answer["detail"]) == (
        "error",
        "the assembled file does not match its checksum",
    )
    right = {"checksum": checksum, "chunks": [checksum, "1" * 40], "projects": ["web"]}
    answer = server.http.post(assemble, json=right, headers=headers).json()
    assert (answer["state"], answer["missingChunks"]) == ("not_found", ["1" * 40])

    too_large = b"\0" * (8 * 1024 * 1024 + 100 * 1024)
    files = f"{org}/releases/9.9.9/files/"
    server.http.post(f"{org}/releases/", json={"version": "9.9.9"}, headers=headers)
    refused = server.http.post(
        files, data={"name": "~/big.js"}, files={"file": ("big.js", too_large)}, headers=headers
    )
    assert refused.status_code == 413
    assert server.api_get(files) == []


def test_an_organisation_assembles_only_the_chunks_it_uploaded(live_vedette: LiveVedette) -> None:
    """Chunks are stored once by checksum, yet another organisation that names one is told
    it is missing (and so never reads the file it belongs to), until it uploads it itself."""
    server = live_vedette
    ours, theirs = new_project(server), new_project(server)
    headers = {"Authorization": f"Bearer {server.token}"}
    chunk = b"export const secret = 'of the first organisation';\n"
    checksum = hashlib.sha1(chunk).hexdigest()
    upload = f"/api/0/organizations/{ours.org}/chunk-upload/"
    assert server.http.post(upload, files={"file": (checksum, chunk)}, headers=headers).is_success
    bundle = {"checksum": checksum, "chunks": [checksum], "projects": ["web"]}
    assemble = f"/api/0/organizations/{theirs.org}/artifactbundle/assemble/"
    answer = server.http.post(assemble, json=bundle, headers=headers).json()
    assert (answer["state"], answer["missingChunks"]) == ("not_found", [checksum])
    own_upload = f"/api/0/organizations/{theirs.org}/chunk-upload/"
    server.http.post(own_upload, files={"file": (checksum, chunk)}, headers=headers)
    assert server.http.post(assemble, json=bundle, headers=headers).json()["state"] == "ok"


def test_bodies_and_names_the_api_cannot_take_are_4xx(live_vedette: LiveVedette) -> None:
    server, project = live_vedette, new_project(live_vedette)
    headers = {"Authorization": f"Bearer {server.token}"}
    org = f"/api/0/organizations/{project.org}"
    huge = server.http.post(
        f"{org}/artifactbundle/assemble/", content=b" " * (5 * 1024 * 1024), headers=headers
    )
    assert huge.status_code == 413  # read up to the cap, not whole
    many = {"checksum": "0" * 40, "chunks": ["1" * 40] * 5000, "projects": ["web"]}
    assert (
        server.http.post(f"{org}/artifactbundle/assemble/", json=many, headers=headers).status_code
        == 400
    )
    server.http.post(f"{org}/releases/", json={"version": "7.0.0"}, headers=headers)
    files = f"{org}/releases/7.0.0/files/"
    for name in (b"\xff\xfe", b"\xed\xa0\x80"):
        sent = server.http.post(
            files,
            content=(
                b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\n'
                + name
                + b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
                b"x\r\n--b--\r\n"
            ),
            headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
        )
        assert sent.status_code == 400, (name, sent.status_code, sent.text[:200])
