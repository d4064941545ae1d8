"""Releases of an organisation as sentry-cli manages them: projects, commits, authors,
repositories and deploys; what their events did comes from ``releases`` and ``groups``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select, update

from vedette.domain.release_input import CommitInput
from vedette.storage.schema import (
    commit_authors,
    groups,
    projects,
    release_commits,
    release_deploys,
    release_meta,
    release_projects,
    releases,
    repositories,
)

RELEASE_FIELDS = ("ref", "url", "date_started", "date_released")


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    id: int
    organization_id: int
    version: str
    ref: str | None
    url: str | None
    date_created: float
    date_started: float | None
    date_released: float | None


@dataclass(frozen=True, slots=True)
class ProjectRef:
    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class CommitRow:
    sha: str
    repository: str | None
    message: str | None
    author: Author | None
    date_created: float | None
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeployRow:
    id: int
    environment: str
    name: str | None
    url: str | None
    date_started: float | None
    date_finished: float


@dataclass(frozen=True, slots=True)
class RepositoryRow:
    id: int
    name: str
    provider: str | None
    url: str | None
    date_created: float


@dataclass(frozen=True, slots=True)
class ReleaseFacts:
    """What a release's details show beyond its own row."""

    projects: list[ProjectRef]
    commit_count: int
    authors: list[Author]
    last_commit: CommitRow | None
    deploys: list[DeployRow]
    new_groups: int
    first_event: float | None
    last_event: float | None


def get_release(conn: Connection, organization_id: int, version: str) -> ReleaseRow | None:
    row = conn.execute(
        select(release_meta).where(
            release_meta.c.organization_id == organization_id, release_meta.c.version == version
        )
    ).one_or_none()
    return None if row is None else ReleaseRow(**row._mapping)


def save_release(
    conn: Connection,
    organization_id: int,
    version: str,
    project_ids: list[int],
    fields: dict[str, object],
    now: float,
) -> tuple[ReleaseRow, bool]:
    """The release, created if new (True), with ``fields`` set and ``project_ids`` added."""
    changes = {k: v for k, v in fields.items() if k in RELEASE_FIELDS}
    existing = get_release(conn, organization_id, version)
    if existing is None:
        conn.execute(
            insert(release_meta).values(
                organization_id=organization_id, version=version, date_created=now, **changes
            )
        )
    elif changes:
        conn.execute(update(release_meta).where(release_meta.c.id == existing.id).values(changes))
    release = get_release(conn, organization_id, version)
    assert release is not None
    known = set(
        conn.execute(
            select(release_projects.c.project_id).where(release_projects.c.release_id == release.id)
        ).scalars()
    )
    for project_id in sorted(set(project_ids) - known):
        conn.execute(insert(release_projects).values(release_id=release.id, project_id=project_id))
    return release, existing is None


def delete_release(conn: Connection, release_id: int) -> None:
    for table in (release_commits, release_deploys, release_projects):
        conn.execute(delete(table).where(table.c.release_id == release_id))
    conn.execute(delete(release_meta).where(release_meta.c.id == release_id))


def list_releases(
    conn: Connection, organization_id: int, project_id: int | None, query: str, limit: int
) -> list[ReleaseRow]:
    """Newest first; ``project_id`` limits to one project, ``query`` to versions containing it."""
    stmt = select(release_meta).where(release_meta.c.organization_id == organization_id)
    if project_id is not None:
        stmt = stmt.where(
            release_meta.c.id.in_(
                select(release_projects.c.release_id).where(
                    release_projects.c.project_id == project_id
                )
            )
        )
    if query:
        stmt = stmt.where(release_meta.c.version.contains(query, autoescape=True))
    stmt = stmt.order_by(release_meta.c.date_created.desc(), release_meta.c.id.desc())
    return [ReleaseRow(**r._mapping) for r in conn.execute(stmt.limit(limit))]


def release_projects_of(conn: Connection, release_id: int) -> list[ProjectRef]:
    rows = conn.execute(
        select(projects.c.id, projects.c.slug, projects.c.name)
        .join(release_projects, release_projects.c.project_id == projects.c.id)
        .where(release_projects.c.release_id == release_id)
        .order_by(projects.c.slug)
    )
    return [ProjectRef(*r) for r in rows]


def _author_id(conn: Connection, organization_id: int, name: str | None, email: str) -> int:
    found = conn.execute(
        select(commit_authors.c.id).where(
            commit_authors.c.organization_id == organization_id, commit_authors.c.email == email
        )
    ).scalar_one_or_none()
    if found is not None:
        if name:
            conn.execute(
                update(commit_authors).where(commit_authors.c.id == found).values(name=name)
            )
        return int(found)
    result = conn.execute(
        insert(commit_authors).values(
            organization_id=organization_id, email=email, name=name or email
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def ensure_repository(
    conn: Connection, organization_id: int, name: str, now: float, provider: str | None = None,
    url: str | None = None,
) -> int:  # fmt: skip
    found = conn.execute(
        select(repositories.c.id).where(
            repositories.c.organization_id == organization_id, repositories.c.name == name
        )
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    result = conn.execute(
        insert(repositories).values(
            organization_id=organization_id, name=name, provider=provider, url=url, date_created=now
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def list_repositories(conn: Connection, organization_id: int) -> list[RepositoryRow]:
    rows = conn.execute(
        select(
            repositories.c.id, repositories.c.name, repositories.c.provider, repositories.c.url,
            repositories.c.date_created,
        )
        .where(repositories.c.organization_id == organization_id)
        .order_by(repositories.c.name)
    )  # fmt: skip
    return [RepositoryRow(*r) for r in rows]


def set_commits(
    conn: Connection, release: ReleaseRow, commits: list[CommitInput], now: float
) -> None:
    """The release's commits become ``commits`` (newest first); repositories and authors they
    name are created as needed."""
    conn.execute(delete(release_commits).where(release_commits.c.release_id == release.id))
    org = release.organization_id
    for position, commit in enumerate(commits):
        repository_id = (
            None
            if commit.repository is None
            else ensure_repository(conn, org, commit.repository, now)
        )
        author_id = (
            None
            if commit.author_email is None
            else _author_id(conn, org, commit.author_name, commit.author_email)
        )
        conn.execute(
            insert(release_commits).values(
                release_id=release.id, position=position, repository_id=repository_id,
                sha=commit.sha, message=commit.message, author_id=author_id,
                date_created=commit.timestamp, files=list(commit.files) or None,
            )
        )  # fmt: skip


def commits_of(conn: Connection, release_id: int, limit: int = 1000) -> list[CommitRow]:
    rows = conn.execute(
        select(
            release_commits.c.sha, repositories.c.name, release_commits.c.message,
            commit_authors.c.name, commit_authors.c.email, release_commits.c.date_created,
            release_commits.c.files,
        )
        .select_from(release_commits)
        .outerjoin(repositories, repositories.c.id == release_commits.c.repository_id)
        .outerjoin(commit_authors, commit_authors.c.id == release_commits.c.author_id)
        .where(release_commits.c.release_id == release_id)
        .order_by(release_commits.c.position)
        .limit(limit)
    )  # fmt: skip
    return [
        CommitRow(
            sha, repo, message, None if email is None else Author(name, email), created,
            tuple(files or ()),
        )
        for sha, repo, message, name, email, created, files in rows
    ]  # fmt: skip


def add_deploy(
    conn: Connection, release_id: int, environment: str, name: str | None, url: str | None,
    date_started: float | None, date_finished: float,
) -> DeployRow:  # fmt: skip
    result = conn.execute(
        insert(release_deploys).values(
            release_id=release_id, environment=environment, name=name, url=url,
            date_started=date_started, date_finished=date_finished,
        )
    )  # fmt: skip
    deploy_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    return DeployRow(deploy_id, environment, name, url, date_started, date_finished)


def deploys_of(conn: Connection, release_id: int) -> list[DeployRow]:
    rows = conn.execute(
        select(
            release_deploys.c.id, release_deploys.c.environment, release_deploys.c.name,
            release_deploys.c.url, release_deploys.c.date_started, release_deploys.c.date_finished,
        )
        .where(release_deploys.c.release_id == release_id)
        .order_by(release_deploys.c.date_finished.desc(), release_deploys.c.id.desc())
    )  # fmt: skip
    return [DeployRow(*r) for r in rows]


def release_facts(conn: Connection, release: ReleaseRow) -> ReleaseFacts:
    project_refs = release_projects_of(conn, release.id)
    project_ids = [p.id for p in project_refs]
    commits = commits_of(conn, release.id)
    authors = list({c.author.email: c.author for c in commits if c.author is not None}.values())
    new_groups = conn.execute(
        select(func.count())
        .select_from(groups)
        .where(groups.c.project_id.in_(project_ids), groups.c.first_release == release.version)
    ).scalar_one()
    first, last = conn.execute(
        select(func.min(releases.c.first_seen), func.max(releases.c.last_seen)).where(
            releases.c.project_id.in_(project_ids), releases.c.version == release.version
        )
    ).one()
    return ReleaseFacts(
        projects=project_refs,
        commit_count=len(commits),
        authors=authors,
        last_commit=commits[0] if commits else None,
        deploys=deploys_of(conn, release.id),
        new_groups=int(new_groups),
        first_event=first,
        last_event=last,
    )


def previous_with_commits(
    conn: Connection, organization_id: int, version: str
) -> ReleaseRow | None:
    """The newest release other than ``version`` that has commits."""
    row = conn.execute(
        select(release_meta)
        .where(
            release_meta.c.organization_id == organization_id,
            release_meta.c.version != version,
            release_meta.c.id.in_(select(release_commits.c.release_id)),
        )
        .order_by(release_meta.c.date_created.desc(), release_meta.c.id.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else ReleaseRow(**row._mapping)


@dataclass(frozen=True, slots=True)
class ReleaseSummary:
    """A release as its page shows it: commits, authors and the last deploy per environment."""

    release: ReleaseRow
    facts: ReleaseFacts
    commits: list[CommitRow]

    @property
    def deploys_by_environment(self) -> list[DeployRow]:
        """The latest deploy of each environment, newest first."""
        return list({d.environment: d for d in reversed(self.facts.deploys)}.values())[::-1]


def project_release_summaries(
    conn: Connection, project_id: int, limit: int, commits_shown: int
) -> list[ReleaseSummary]:
    organization = conn.execute(
        select(projects.c.organization_id).where(projects.c.id == project_id)
    ).scalar_one()
    return [
        ReleaseSummary(r, release_facts(conn, r), commits_of(conn, r.id, commits_shown))
        for r in list_releases(conn, organization, project_id, "", limit)
    ]
