"""What sentry-cli sends about a release, parsed: versions, dates, commit ranges, commits."""

from __future__ import annotations

import pytest

from vedette.domain import release_input
from vedette.domain.release_input import CommitInput, RefInput, ReleaseInputError


@pytest.mark.parametrize(
    ("commit", "previous", "expected"),
    [
        ("abc123", None, RefInput("acme/web", "abc123", None)),
        ("a1..b2", None, RefInput("acme/web", "b2", "a1")),
        ("a1..b2", "c3", RefInput("acme/web", "b2", "c3")),
        ("b2", "a1", RefInput("acme/web", "b2", "a1")),
        ("main", "", RefInput("acme/web", "main", None)),
    ],
)
def test_commit_ranges(commit: str, previous: str | None, expected: RefInput) -> None:
    assert release_input.commit_range("acme/web", commit, previous) == expected


@pytest.mark.parametrize("commit", ["..b2", "a1..", ".."])
def test_open_commit_ranges_are_refused(commit: str) -> None:
    with pytest.raises(ReleaseInputError):
        release_input.commit_range("acme/web", commit)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("1970-01-01T00:00:00Z", 0.0),
        ("1970-01-01T00:00:01.5Z", 1.5),
        ("1970-01-01T00:00:01.250000001Z", 1.25),  # chrono's nanoseconds
        ("1970-01-01T01:00:00+01:00", 0.0),
        ("1970-01-01T00:01:00", 60.0),  # no offset: UTC
    ],
)
def test_timestamps(value: str | None, expected: float | None) -> None:
    assert release_input.timestamp(value, "dateReleased") == expected


@pytest.mark.parametrize("value", [12, "yesterday", "", "1970-13-01T00:00:00Z"])
def test_bad_timestamps_are_refused(value: object) -> None:
    with pytest.raises(ReleaseInputError, match="dateReleased"):
        release_input.timestamp(value, "dateReleased")


@pytest.mark.parametrize("value", ["1.0.0", "web@2.3.4+build.7", "a" * 200, "v 1"])
def test_versions(value: str) -> None:
    assert release_input.version(value) == value


@pytest.mark.parametrize("value", ["", "a" * 201, ".", "..", "latest", "a/b", " 1", "1\n", None, 1])
def test_bad_versions_are_refused(value: object) -> None:
    with pytest.raises(ReleaseInputError):
        release_input.version(value)


def test_commits_as_sentry_cli_sends_them() -> None:
    sent = [
        {
            "patch_set": [{"path": "f3", "type": "A"}],
            "repository": "origin",
            "author_name": "Ada",
            "author_email": "ada@example.com",
            "timestamp": "1970-01-01T00:00:10Z",
            "message": "change 3\n",
            "id": "9a5c",
        },
        {"id": "8ed1"},
    ]
    assert release_input.commits(sent) == [
        CommitInput("9a5c", "origin", "change 3\n", "Ada", "ada@example.com", 10.0, ("f3",)),
        CommitInput("8ed1", None, None, None, None, None),
    ]


@pytest.mark.parametrize(
    ("patch_set", "files"),
    [
        ([{"path": "a.py", "type": "M"}, {"path": "a.py", "type": "M"}], ("a.py",)),
        ([{"path": ""}, {"type": "A"}, "b.py", {"path": 3}], ()),
        ("not a list", ()),
        ([{"path": "x" * 1000}], ("x" * 400,)),
        ([{"path": f"f{i}"} for i in range(1500)], tuple(f"f{i}" for i in range(1000))),
    ],
)
def test_patch_set_paths_are_bounded(patch_set: object, files: tuple[str, ...]) -> None:
    assert release_input.patch_set_paths(patch_set) == files


@pytest.mark.parametrize(
    "value",
    [{}, [1], [{}], [{"id": 5}], [{"id": "a", "timestamp": "soon"}], [{"id": "a"}] * 1001],
)
def test_bad_commits_are_refused(value: object) -> None:
    with pytest.raises(ReleaseInputError):
        release_input.commits(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], []),
        (
            [{"repository": "acme/web", "commit": "b2", "previousCommit": "a1"}],
            [RefInput("acme/web", "b2", "a1")],
        ),
        ([{"repository": "acme/web", "commit": "a1..b2"}], [RefInput("acme/web", "b2", "a1")]),
    ],
)
def test_refs(value: object, expected: list[RefInput]) -> None:
    assert release_input.refs(value) == expected


@pytest.mark.parametrize("value", [None, [{}], [{"repository": "r"}], [{"commit": "c"}], ["r@c"]])
def test_bad_refs_are_refused(value: object) -> None:
    with pytest.raises(ReleaseInputError):
        release_input.refs(value)
