"""The shell reader: what a command line would run, however it is written."""

from __future__ import annotations

from engine.domain.shell import parse


def programs(command: str) -> list[list[str]]:
    return [s.argv for s in parse(command)]


def test_new_lines_and_comments_separate_commands() -> None:
    # A new line ends a command like `;`; a comment (even with a quote in it) is skipped.
    assert programs("git status # don't push yet\nrm -rf x") == [
        ["git", "status"],
        ["rm", "-rf", "x"],
    ]
    assert programs("ls && \\\n  pwd") == [["ls"], ["pwd"]]
    assert programs("echo a#b") == [["echo", "a#b"]]


def test_braces_and_reserved_words_are_not_programs() -> None:
    assert programs("{ rm -rf x; }") == [["rm", "-rf", "x"]]
    assert programs("if [ -d x ]; then rm -rf x; fi") == [["[", "-d", "x", "]"], ["rm", "-rf", "x"]]
    assert programs("function f { ls; }") == [["ls"]]


def test_heredocs_are_data_unless_a_shell_reads_them() -> None:
    written = parse("cat > notes.md <<'EOF'\nit's $(not run)\nEOF")
    assert [s.argv for s in written] == [["cat"]]
    assert written[0].writes == ["notes.md"] and written[0].stdin == "it's $(not run)"
    assert programs("bash <<EOF\nrm -rf ~/x\nEOF")[1:] == [["rm", "-rf", "~/x"]]
    assert programs("echo 'rm -rf ~' | sh")[2:] == [["rm", "-rf", "~"]]
    assert programs("bash <<< 'rm -rf /'")[1:] == [["rm", "-rf", "/"]]
    # An unquoted heredoc runs its substitutions.
    assert ["date"] in programs("cat <<EOF\nnow: $(date)\nEOF")


def test_cd_is_followed_and_a_subshell_forgets_it() -> None:
    commands = parse("(cd .. && rm -rf x) && rm -rf y; pushd src && ls && popd && ls")
    assert [(s.argv[0], s.cwd) for s in commands if s.argv[0] in ("rm", "ls")] == [
        ("rm", ".."),
        ("rm", None),
        ("ls", "src"),
        ("ls", None),
    ]


def test_variables_assigned_on_the_line_are_expanded() -> None:
    assert programs("d=/srv; rm -rf $d") == [["rm", "-rf", "/srv"]]
    assert programs("for d in a b; do rm -rf ${d}/; done")[1] == ["rm", "-rf", "a/", "b/"]
    # In `d=x cmd $d` the word is read before the assignment takes effect.
    assert programs("d=/srv rm -rf $d") == [["rm", "-rf", "$d"]]


def test_wrappers_find_and_xargs_run_their_command() -> None:
    assert programs("nice -n 10 timeout -s KILL 30 git push -f")[-1] == ["git", "push", "-f"]
    assert programs("find .. -exec rm -rf {} \\;")[-1] == ["rm", "-rf", "{}"]
    assert programs("find .. -name '*.tmp' | xargs rm -f")[-1] == ["rm", "-f", ".."]
    first = parse("curl -s x | env bash")[-1]
    assert first.argv == ["bash"] and first.piped_from is not None
    assert first.piped_from.argv == ["curl", "-s", "x"]
