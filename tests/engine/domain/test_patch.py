"""The unified diff parser: real git diffs in, files/hunks/lines out, and patches that
``git apply -R`` takes back exactly (whole hunks, some hunks, some lines of a hunk)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from engine.domain.patch import FilePatch, Hunk, PatchLine, parse_patch
from enginekit import git


def new_repo(path: Path, files: Mapping[str, bytes | str]) -> Path:
    """A repo at ``path`` whose first commit (tagged ``base``) holds ``files``."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    write(path, files)
    git(path, "add", "-A")
    git(path, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "base")
    git(path, "tag", "base")
    return path


def write(repo: Path, files: Mapping[str, bytes | str]) -> None:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)


def commit(repo: Path, files: Mapping[str, bytes | str] | None = None) -> None:
    """Write ``files`` and commit everything: the worktree is then at the new version."""
    write(repo, files or {})
    git(repo, "add", "-A")
    git(repo, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "change")


def diff(repo: Path, *args: str, quote_path: bool = True) -> str:
    """``git diff`` as the review screen takes it (bytes kept as surrogates); git quotes
    names with bytes outside ASCII unless ``quote_path`` is False."""
    config = f"core.quotePath={str(quote_path).lower()}"
    done = subprocess.run(
        ["git", "-c", config, "diff", "--no-color", "--no-ext-diff", "-M", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    return done.stdout.decode("utf-8", errors="surrogateescape")


def apply(repo: Path, patch: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "apply", *args],
        cwd=repo,
        input=patch.encode("utf-8", errors="surrogateescape"),
        capture_output=True,
        check=False,
    )


def revert(repo: Path, patch: str) -> None:
    """``git apply -R`` the patch in the worktree, after ``--check`` accepted it."""
    checked = apply(repo, patch, "--check", "-R")
    assert checked.returncode == 0, checked.stderr.decode()
    done = apply(repo, patch, "-R")
    assert done.returncode == 0, done.stderr.decode()


def only(files: list[FilePatch], path: str) -> FilePatch:
    [found] = [fp for fp in files if fp.path == path]
    return found


def numbered(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


def text_of(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


# --- the parsed structure ---------------------------------------------------------------


def test_a_modified_file_has_its_hunks_lines_and_numbers(tmp_path: Path) -> None:
    old = numbered("line", 30)
    new = [*old[:4], "inserted", *old[4:20], "changed 20", *old[21:]]
    repo = new_repo(tmp_path / "r", {"f.py": text_of(old)})
    commit(repo, {"f.py": text_of(new)})
    text = diff(repo, "base", "HEAD")

    [fp] = parse_patch(text)
    assert (fp.path, fp.old_path, fp.status, fp.binary) == ("f.py", None, "M", False)
    assert (fp.old_mode, fp.new_mode) == ("100644", "100644")
    assert fp.header[0] == "diff --git a/f.py b/f.py"
    assert fp.header[-2:] == ("--- a/f.py", "+++ b/f.py")
    assert (fp.added, fp.removed) == (2, 1)
    first, second = fp.hunks
    assert (first.old_start, first.old_count, first.new_start, first.new_count) == (2, 6, 2, 7)
    assert first.lines[3] == PatchLine("added", "inserted", None, 5)
    assert first.lines[4] == PatchLine("context", "line4", 5, 6)
    assert (second.old_start, second.new_start) == (18, 19)
    assert second.section == "line16"  # git's function context: the last line before it
    assert [line.kind for line in second.lines] == [
        *["context"] * 3,
        "removed",
        "added",
        *["context"] * 3,
    ]
    assert second.lines[3] == PatchLine("removed", "line20", 21, None)
    assert second.lines[4] == PatchLine("added", "changed 20", None, 22)
    assert second.header == "@@ -18,7 +19,7 @@ line16"
    # Written back out, the file is git's own text.
    assert fp.patch() == text
    assert "".join(h.text() for h in fp.hunks) == text[text.index("@@") :]


def test_one_line_hunks_leave_out_the_count_and_new_files_start_at_zero(
    tmp_path: Path,
) -> None:
    repo = new_repo(tmp_path / "r", {"one.txt": "a\n"})
    commit(repo, {"one.txt": "b\n", "new.txt": "x\ny\nz\n"})
    files = parse_patch(diff(repo, "base", "HEAD"))

    created, changed = only(files, "new.txt"), only(files, "one.txt")
    assert (created.status, created.old_mode, created.new_mode) == ("A", None, "100644")
    [hunk] = created.hunks
    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (0, 0, 1, 3)
    assert [(line.old_no, line.new_no) for line in hunk.lines] == [(None, 1), (None, 2), (None, 3)]
    assert hunk.header == "@@ -0,0 +1,3 @@"
    [hunk] = changed.hunks
    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (1, 1, 1, 1)
    assert hunk.header == "@@ -1 +1 @@"
    assert hunk.lines == (PatchLine("removed", "a", 1, None), PatchLine("added", "b", None, 1))


def test_renames_copies_deletions_and_mode_changes(tmp_path: Path) -> None:
    body = text_of(numbered("row", 20))
    repo = new_repo(
        tmp_path / "r",
        {"old.txt": body, "same.txt": "same\n" * 5, "run.sh": "echo\n", "gone.txt": "bye\n"},
    )
    os.remove(repo / "old.txt")
    os.remove(repo / "same.txt")
    os.remove(repo / "gone.txt")
    (repo / "run.sh").chmod(0o755)
    commit(repo, {"new.txt": body.replace("row7\n", "row seven\n"), "moved.txt": "same\n" * 5})
    files = parse_patch(diff(repo, "base", "HEAD"))

    edited = only(files, "new.txt")
    assert (edited.status, edited.old_path) == ("R", "old.txt")
    assert edited.header[1:4] == (
        "similarity index 91%",
        "rename from old.txt",
        "rename to new.txt",
    )
    assert [line.text for line in edited.hunks[0].lines if line.kind != "context"] == [
        "row7",
        "row seven",
    ]
    pure = only(files, "moved.txt")
    assert (pure.status, pure.old_path, pure.hunks) == ("R", "same.txt", ())
    assert (pure.old_mode, pure.new_mode) == (None, None)  # git prints no mode for it
    chmod = only(files, "run.sh")
    assert (chmod.status, chmod.old_mode, chmod.new_mode, chmod.hunks) == (
        "T",
        "100644",
        "100755",
        (),
    )
    deleted = only(files, "gone.txt")
    assert (deleted.status, deleted.old_path, deleted.old_mode, deleted.new_mode) == (
        "D",
        None,
        "100644",
        None,
    )
    assert deleted.hunks[0].lines == (PatchLine("removed", "bye", 1, None),)


def test_a_rename_with_a_mode_change_and_a_copy(tmp_path: Path) -> None:
    body = text_of(numbered("row", 20))
    repo = new_repo(tmp_path / "r", {"tool.py": body})
    (repo / "tool.py").rename(repo / "bin tool.py")
    (repo / "bin tool.py").chmod(0o755)
    commit(repo, {"copy.py": body + "extra\n"})

    files = parse_patch(diff(repo, "base", "HEAD"))
    moved = only(files, "bin tool.py")
    assert (moved.status, moved.old_path, moved.old_mode, moved.new_mode) == (
        "R",
        "tool.py",
        "100644",
        "100755",
    )
    assert (only(files, "copy.py").status, only(files, "copy.py").old_path) == ("A", None)
    # With copies found, git makes one of the two new files the copy, the other the rename.
    files = parse_patch(diff(repo, "-C", "--find-copies-harder", "base", "HEAD"))
    assert sorted((fp.status, fp.old_path) for fp in files) == [("A", "tool.py"), ("R", "tool.py")]
    [copy] = [fp for fp in files if fp.status == "A"]
    assert f"copy to {copy.path}" in copy.header


def test_a_file_becoming_a_symlink_is_one_type_change(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r", {"link": "was a file\n", "other.txt": "x\n"})
    (repo / "link").unlink()
    (repo / "link").symlink_to("other.txt")
    commit(repo)
    files = parse_patch(diff(repo, "base", "HEAD"))

    [fp] = files
    assert (fp.path, fp.status, fp.old_mode, fp.new_mode) == ("link", "T", "100644", "120000")
    assert [h.lines[0] for h in fp.hunks] == [
        PatchLine("removed", "was a file", 1, None),
        PatchLine("added", "other.txt", None, 1),
    ]
    assert fp.hunks[1].lines[-1] == PatchLine("note", "No newline at end of file", None, None)
    assert (fp.added, fp.removed) == (1, 1)
    assert fp.header.count("diff --git a/link b/link") == 2
    # The two sections git printed go back out as they were, and undo the change.
    revert(repo, fp.patch())
    assert not (repo / "link").is_symlink()
    assert (repo / "link").read_text() == "was a file\n"


def test_binary_files_and_empty_new_files_have_no_hunks(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r", {"blob.bin": b"\x00\x01\x02"})
    commit(repo, {"blob.bin": b"\x00\x01\x03", "new blob.bin": b"\x00\xff", "empty file": ""})
    files = parse_patch(diff(repo, "base", "HEAD"))

    changed = only(files, "blob.bin")
    assert (changed.status, changed.binary, changed.hunks) == ("M", True, ())
    assert changed.header[-1] == "Binary files a/blob.bin and b/blob.bin differ"
    created = only(files, "new blob.bin")
    assert (created.status, created.binary, created.new_mode) == ("A", True, "100644")
    empty = only(files, "empty file")
    assert (empty.status, empty.binary, empty.hunks, empty.added) == ("A", False, (), 0)
    assert empty.patch() == text_of(list(empty.header))


@pytest.mark.parametrize("quote_path", [True, False])
def test_quoted_and_spaced_paths_are_the_real_names(tmp_path: Path, quote_path: bool) -> None:
    names = {
        "tést.txt": "é\n",  # quoted by git (unless told not to): "a/t\303\251st.txt"
        "dir with space/a b.txt": "a\n",  # unquoted, with a tab after it on ---/+++
        'say "hi".txt': "q\n",
        "tab\there.txt": "t\n",
    }
    repo = new_repo(tmp_path / "r", dict.fromkeys(names, "old\n"))
    raw_name = b"caf\xe9.txt"  # not UTF-8: git prints it as "caf\351.txt"
    (repo / os.fsdecode(raw_name)).write_bytes(b"old\n")
    commit(repo)
    write(repo, names)
    (repo / os.fsdecode(raw_name)).write_bytes(b"new\n")
    text = diff(repo, quote_path=quote_path)  # the worktree against HEAD

    files = parse_patch(text)
    assert sorted(fp.path for fp in files) == sorted(
        [*names, raw_name.decode(errors="surrogateescape")]
    )
    quoted = '"a/t\\303\\251st.txt"' in only(files, "tést.txt").header[0]
    assert quoted == quote_path
    assert '"a/say \\"hi\\".txt"' in only(files, 'say "hi".txt').header[0]  # quoted anyway
    assert only(files, "dir with space/a b.txt").header[-1] == "+++ b/dir with space/a b.txt\t"
    for fp in files:
        assert fp.status == "M" and [line.kind for line in fp.hunks[0].lines] == [
            "removed",
            "added",
        ]
    # Each name goes back to git as the bytes it came from.
    for fp in files:
        revert(repo, fp.patch())
    assert git(repo, "status", "--porcelain") == ""


def test_a_binary_file_with_spaces_and_a_mode_change_takes_its_name_from_the_git_line(
    tmp_path: Path,
) -> None:
    repo = new_repo(tmp_path / "r", {"a b/c d.bin": b"\x00a", "x y.sh": "echo\n"})
    (repo / "x y.sh").chmod(0o755)
    commit(repo, {"a b/c d.bin": b"\x00b"})
    files = parse_patch(diff(repo, "base", "HEAD"))

    assert [(fp.path, fp.status, fp.binary) for fp in files] == [
        ("a b/c d.bin", "M", True),
        ("x y.sh", "T", False),
    ]


def test_lines_that_look_like_headers_are_content(tmp_path: Path) -> None:
    old = ["-- signature", "++ plus", "diff --git a/x b/x", "@@ -1 +1 @@", "keep", ""]
    new = ["-- changed", "++ plus", "diff --git a/y b/y", "@@ -2 +2 @@", "keep", ""]
    repo = new_repo(tmp_path / "r", {"f.txt": text_of(old)})
    commit(repo, {"f.txt": text_of(new)})
    text = diff(repo, "base", "HEAD")

    [fp] = parse_patch(text)
    assert [(line.kind, line.text) for line in fp.hunks[0].lines if line.kind != "context"] == [
        ("removed", "-- signature"),
        ("added", "-- changed"),
        ("removed", "diff --git a/x b/x"),
        ("removed", "@@ -1 +1 @@"),
        ("added", "diff --git a/y b/y"),
        ("added", "@@ -2 +2 @@"),
    ]
    assert "--- signature" in text  # what made it look like a file header
    revert(repo, fp.patch())
    assert (repo / "f.txt").read_text() == text_of(old)


def test_format_patch_mail_around_the_diff_is_skipped(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r", {"f.txt": "a\nb\n"})
    commit(repo, {"f.txt": "a\nc\n"})
    mail = git(repo, "format-patch", "--stdout", "-1", "HEAD")
    assert mail.rstrip().splitlines()[-2] == "-- "  # the signature after the last hunk

    [fp] = parse_patch(mail)
    assert [line.text for line in fp.hunks[0].lines] == ["a", "b", "c"]
    assert fp.patch() == diff(repo, "HEAD~", "HEAD")


def test_empty_context_lines_of_suppress_blank_empty(tmp_path: Path) -> None:
    old = ["a", "", "b", "", "c"]
    repo = new_repo(tmp_path / "r", {"f.txt": text_of(old)})
    commit(repo, {"f.txt": text_of(["a", "", "B", "", "c"])})
    text = subprocess.run(
        ["git", "-c", "diff.suppressBlankEmpty=true", "diff", "base", "HEAD"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "\n\n" in text  # git printed the empty context lines without their space

    [fp] = parse_patch(text)
    assert [(line.kind, line.text) for line in fp.hunks[0].lines] == [
        ("context", "a"),
        ("context", ""),
        ("removed", "b"),
        ("added", "B"),
        ("context", ""),
        ("context", "c"),
    ]
    revert(repo, fp.patch())
    assert (repo / "f.txt").read_text() == text_of(old)


def test_very_long_lines(tmp_path: Path) -> None:
    long_old, long_new = "x" * 300_000, "y" * 300_000 + "z"
    repo = new_repo(tmp_path / "r", {"f.txt": f"a\n{long_old}\nb\n"})
    commit(repo, {"f.txt": f"a\n{long_new}\nb\n"})
    [fp] = parse_patch(diff(repo, "base", "HEAD"))

    assert [line.text for line in fp.hunks[0].lines] == ["a", long_old, long_new, "b"]
    revert(repo, fp.patch())
    assert (repo / "f.txt").read_text() == f"a\n{long_old}\nb\n"


def test_carriage_returns_and_other_separators_inside_lines_are_content(tmp_path: Path) -> None:
    old = b"one\r\ntwo\x0bstill two\x0cand \xe2\x80\xa8 this\r\nthree\r\n"
    new = b"one\r\nTWO\x0bstill two\x0cand \xe2\x80\xa8 this\r\nthree\r\n"
    repo = new_repo(tmp_path / "r", {"crlf.txt": old})
    commit(repo, {"crlf.txt": new})
    [fp] = parse_patch(diff(repo, "base", "HEAD"))

    assert [line.text for line in fp.hunks[0].lines] == [
        "one\r",
        "two\x0bstill two\x0cand \u2028 this\r",
        "TWO\x0bstill two\x0cand \u2028 this\r",
        "three\r",
    ]
    revert(repo, fp.patch())
    assert (repo / "crlf.txt").read_bytes() == old


def test_a_cut_short_hunk_or_a_bad_header_is_an_error(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r", {"f.txt": "a\nb\nc\n"})
    commit(repo, {"f.txt": "a\nB\nc\n"})
    text = diff(repo, "base", "HEAD")

    with pytest.raises(ValueError, match="cut short"):
        parse_patch(text.rsplit("\n", 2)[0] + "\n")
    with pytest.raises(ValueError, match="malformed hunk header"):
        parse_patch(text.replace("@@ -1,3 +1,3 @@", "@@ -1,x +1,3 @@"))
    assert parse_patch("") == []


def test_a_lazy_parse_lists_the_same_files_and_counts_before_reading_any_hunk(
    tmp_path: Path,
) -> None:
    body = text_of(numbered("row", 40))
    repo = new_repo(
        tmp_path / "r",
        {"old.txt": body, "run.sh": "echo\n", "gone.txt": "bye\n", "link": "target\n"},
    )
    os.remove(repo / "old.txt")
    os.remove(repo / "gone.txt")
    os.remove(repo / "link")
    os.symlink("old-target", repo / "link")
    (repo / "run.sh").chmod(0o755)
    edited = body.replace("row7\n", "row seven\n").replace("row30\n", "")
    commit(repo, {"new.txt": edited, "blob.bin": b"\x00\x01binary", "fresh.txt": "a\nb\n"})
    text = diff(repo, "base", "HEAD")

    eager = parse_patch(text)
    lazy = parse_patch(text, lazy=True)
    assert [f.status for f in lazy] == [f.status for f in eager] and len(eager) == 6
    # Counted from the text, before any hunk is parsed...
    counts = [(f.path, f.added, f.removed) for f in lazy]
    assert all("hunks" not in f.__dict__ for f in lazy)
    assert counts == [(f.path, f.added, f.removed) for f in eager]
    assert ("new.txt", 1, 2) in counts and ("link", 1, 1) in counts
    # ...and the hunks, read on first use, are the eager parse's.
    assert lazy == eager
    assert [f.hunks for f in lazy] == [f.hunks for f in eager]


def test_a_lazy_parse_reports_a_malformed_hunk_when_its_file_is_read(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r", {"f.txt": "a\nb\nc\n", "g.txt": "x\n"})
    commit(repo, {"f.txt": "a\nB\nc\n", "g.txt": "y\n"})
    text = diff(repo, "base", "HEAD").replace("@@ -1,3 +1,3 @@", "@@ -1,x +1,3 @@")

    broken, fine = parse_patch(text, lazy=True)
    assert fine.hunks[0].lines[0] == PatchLine("removed", "x", 1, None)
    with pytest.raises(ValueError, match="malformed hunk header"):
        broken.hunks  # noqa: B018


# --- taking changes back: whole hunks ----------------------------------------------------


def three_hunk_repo(tmp_path: Path) -> tuple[Path, list[str], list[str], list[list[str]]]:
    """A file whose new version differs from the base in three separate places, each
    changing the line count differently; returns (repo, old, new, [new with only change
    k undone for each k])."""
    old = numbered("line", 60)
    blocks = [  # (start, end) in old, and what replaces old[start:end]
        (5, 7, ["five", "six", "six and a half", "six and three quarters"]),
        (25, 28, []),
        (45, 46, ["forty-five"]),
    ]
    new: list[str] = []
    at = 0
    for start, end, lines in blocks:
        new += old[at:start] + lines
        at = end
    new += old[at:]
    undone = []
    for k in range(len(blocks)):
        lines, at = [], 0
        for j, (start, end, replacement) in enumerate(blocks):
            lines += old[at:start] + (old[start:end] if j == k else replacement)
            at = end
        undone.append(lines + old[at:])
    repo = new_repo(tmp_path / "r", {"f.txt": text_of(old)})
    commit(repo, {"f.txt": text_of(new)})
    return repo, old, new, undone


def test_reverting_one_hunk_undoes_exactly_that_hunk(tmp_path: Path) -> None:
    repo, _, new, undone = three_hunk_repo(tmp_path)
    [fp] = parse_patch(diff(repo, "base", "HEAD"))
    assert len(fp.hunks) == 3

    for k, hunk in enumerate(fp.hunks):
        revert(repo, fp.patch([hunk]))
        assert (repo / "f.txt").read_text() == text_of(undone[k]), f"hunk {k}"
        git(repo, "checkout", "--", "f.txt")
        assert (repo / "f.txt").read_text() == text_of(new)


def test_reverting_some_hunks_together(tmp_path: Path) -> None:
    repo, old, _, _ = three_hunk_repo(tmp_path)
    [fp] = parse_patch(diff(repo, "base", "HEAD"))

    # In any order: they are written in file order, renumbered for the hunks left out.
    revert(repo, fp.patch([fp.hunks[2], fp.hunks[1]]))
    revert(repo, fp.patch([fp.hunks[0]]))
    assert (repo / "f.txt").read_text() == text_of(old)


def test_a_later_hunk_alone_is_renumbered_so_it_lands_on_its_own_lines(
    tmp_path: Path,
) -> None:
    # The second change's new text also appears 20 lines further down, exactly where
    # git's own numbering of that hunk (shifted by the 20 lines the first one removed)
    # points: with those numbers, `git apply -R` would undo the wrong copy.
    block = ["c1", "c2", "c3", "NEW", "c4", "c5", "c6"]
    tail = [*numbered("p", 13), *block, *numbered("end", 10)]
    old = [*numbered("top", 5), *numbered("gone", 20), *numbered("m", 10), "c1", "c2", "c3"]
    old += ["OLD", "c4", "c5", "c6", *tail]
    new = [*numbered("top", 5), *numbered("m", 10), *block, *tail]
    repo = new_repo(tmp_path / "r", {"f.txt": text_of(old)})
    commit(repo, {"f.txt": text_of(new)})
    [fp] = parse_patch(diff(repo, "base", "HEAD"))
    second = fp.hunks[1]
    assert second.old_start == second.new_start + 20

    revert(repo, fp.patch([second]))
    expected = [*numbered("top", 5), *numbered("m", 10), "c1", "c2", "c3", "OLD", "c4"]
    assert (repo / "f.txt").read_text() == text_of([*expected, "c5", "c6", *tail])


# --- taking changes back: some lines of a hunk -------------------------------------------


def replaced_block_repo(tmp_path: Path) -> tuple[Path, Hunk, list[str], list[str]]:
    """``x1 x2 x3`` replaced by ``y1 y2`` in the middle of a file: (repo, its hunk,
    the lines before the block, the lines after it)."""
    before, after = numbered("pre", 6), numbered("post", 6)
    repo = new_repo(tmp_path / "r", {"f.txt": text_of([*before, "x1", "x2", "x3", *after])})
    commit(repo, {"f.txt": text_of([*before, "y1", "y2", *after])})
    [fp] = parse_patch(diff(repo, "base", "HEAD"))
    [hunk] = fp.hunks
    assert [(line.kind, line.text) for line in hunk.lines[3:8]] == [
        ("removed", "x1"),
        ("removed", "x2"),
        ("removed", "x3"),
        ("added", "y1"),
        ("added", "y2"),
    ]
    return repo, hunk, before, after


@pytest.mark.parametrize(
    ("selected", "block"),
    [
        ({6}, ["y2"]),  # undo adding y1
        ({4}, ["x2", "y1", "y2"]),  # undo removing x2
        ({3, 7}, ["x1", "y1"]),  # undo removing x1 and adding y2
        ({0, 3, 4, 5, 6, 7, 99}, ["x1", "x2", "x3"]),  # everything (context, unknown: ignored)
    ],
)
def test_a_partial_hunk_reverts_only_the_selected_lines(
    tmp_path: Path, selected: set[int], block: list[str]
) -> None:
    repo, hunk, before, after = replaced_block_repo(tmp_path)
    fp = parse_patch(diff(repo, "base", "HEAD"))[0]

    part = hunk.partial(selected)
    assert part is not None
    # Its new side is the original's: that is what the worktree holds.
    assert [(line.text, line.new_no) for line in part.lines if line.kind != "removed"] == [
        (line.text, line.new_no) for line in hunk.lines if line.kind != "removed"
    ]
    assert (part.new_start, part.new_count) == (hunk.new_start, hunk.new_count)
    revert(repo, fp.patch([part]))
    assert (repo / "f.txt").read_text() == text_of([*before, *block, *after])


def test_a_partial_hunk_counts_and_numbers_its_old_side(tmp_path: Path) -> None:
    _, hunk, _, _ = replaced_block_repo(tmp_path)

    part = hunk.partial({4, 7})  # undo removing x2 and adding y2
    assert part is not None
    assert [(line.kind, line.text, line.old_no, line.new_no) for line in part.lines] == [
        ("context", "pre3", 4, 4),
        ("context", "pre4", 5, 5),
        ("context", "pre5", 6, 6),
        ("removed", "x2", 7, None),
        ("context", "y1", 8, 7),
        ("added", "y2", None, 8),
        ("context", "post0", 9, 9),
        ("context", "post1", 10, 10),
        ("context", "post2", 11, 11),
    ]
    assert part.header == "@@ -4,8 +4,8 @@ pre2"
    assert hunk.partial({0, 1, 2, 8}) is None  # context only
    assert hunk.partial(set()) is None


def test_partial_hunks_of_two_hunks_revert_together(tmp_path: Path) -> None:
    repo, _, new, _ = three_hunk_repo(tmp_path)
    [fp] = parse_patch(diff(repo, "base", "HEAD"))
    first, _, third = fp.hunks
    # From the first hunk, undo adding "six and a half"; from the third, undo removing
    # line45 (keeping "forty-five").
    [half] = [i for i, line in enumerate(first.lines) if line.text == "six and a half"]
    [line45] = [i for i, line in enumerate(third.lines) if line.text == "line45"]
    parts = [first.partial({half}), third.partial({line45})]
    assert None not in parts
    # Each part stands alone: its old range is where it is once only it is undone
    # (the original's is shifted by the lines the hunks before it add and remove).
    assert third.old_start == third.new_start + 1
    assert parts[1] is not None and parts[1].old_start == third.new_start

    revert(repo, fp.patch(p for p in parts if p is not None))
    expected = [line for line in new if line != "six and a half"]
    at = expected.index("forty-five")
    assert (repo / "f.txt").read_text() == text_of([*expected[:at], "line45", *expected[at:]])


# --- bytes that are not UTF-8, and files without a final newline --------------------------


def test_non_utf8_content_round_trips_through_git_apply(tmp_path: Path) -> None:
    old = b"caf\xe9\nna\xefve\n\xff\xfe binary-ish\nend\n"
    new = b"caf\xe9 cr\xe8me\nna\xefve\n\xff\xfe binary-ish\nend\n"
    repo = new_repo(tmp_path / "r", {"latin1.txt": old})
    commit(repo, {"latin1.txt": new})
    text = diff(repo, "base", "HEAD")

    [fp] = parse_patch(text)
    assert not fp.binary
    assert fp.hunks[0].lines[0] == PatchLine("removed", "caf\udce9", 1, None)
    assert fp.hunks[0].lines[1] == PatchLine("added", "caf\udce9 cr\udce8me", None, 1)
    assert fp.patch() == text
    revert(repo, fp.patch())
    assert (repo / "latin1.txt").read_bytes() == old


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"a\nb\nlast", b"a\nb\nchanged last"),  # neither ends in a newline
        (b"a\nb\nlast", b"a\nb\nlast\n"),  # the newline is added
        (b"a\nb\nlast\n", b"a\nb\nlast\nmore"),  # a line without one is appended
        (b"a\nb\nlast", b"a\nb\nlast\nmore\n"),  # both
    ],
)
def test_missing_final_newlines_round_trip(tmp_path: Path, old: bytes, new: bytes) -> None:
    repo = new_repo(tmp_path / "r", {"f.txt": old})
    commit(repo, {"f.txt": new})
    text = diff(repo, "base", "HEAD")

    [fp] = parse_patch(text)
    notes = [line for line in fp.hunks[0].lines if line.kind == "note"]
    assert notes and all(n.text == "No newline at end of file" for n in notes)
    assert fp.patch() == text
    revert(repo, fp.patch())
    assert (repo / "f.txt").read_bytes() == old


def test_partial_hunks_at_a_missing_final_newline(tmp_path: Path) -> None:
    # old ends "x" without a newline; new ends "x\ny" without one:
    #   -x / \ No newline / +x / +y / \ No newline
    repo = new_repo(tmp_path / "r", {"f.txt": b"a\nx"})
    commit(repo, {"f.txt": b"a\nx\ny"})
    [fp] = parse_patch(diff(repo, "base", "HEAD"))
    [hunk] = fp.hunks
    kinds = [(line.kind, line.text) for line in hunk.lines]
    assert kinds[1:] == [
        ("removed", "x"),
        ("note", "No newline at end of file"),
        ("added", "x"),
        ("added", "y"),
        ("note", "No newline at end of file"),
    ]
    undo = {
        frozenset({4}): b"a\nx\n",  # undo adding y: x keeps the newline it now has
        frozenset({3, 4}): b"a\n",  # undo adding both lines (not the removal)
        frozenset({1}): b"a\nx\nx\ny",  # undo removing x: it comes back with a newline
        frozenset({1, 3, 4}): b"a\nx",  # everything
    }
    assert hunk.partial({2, 5}) is None  # notes are no changes
    for selected, expected in undo.items():
        part = hunk.partial(set(selected))
        assert part is not None
        revert(repo, fp.patch([part]))
        assert (repo / "f.txt").read_bytes() == expected, sorted(selected)
        git(repo, "checkout", "--", "f.txt")
