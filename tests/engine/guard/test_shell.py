"""The shell reader: what a command line would run, however it is written."""

from __future__ import annotations

from engine.guard.shell import parse


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


def test_known_substitutions_are_read_and_others_remembered_as_written() -> None:
    # `$(pwd)` is the folder the command runs in; `$(mktemp -d)` a fresh one in /tmp.
    assert programs("rm -rf $(pwd)/build") == [["rm", "-rf", "$PWD/build"]]
    assert programs('cd "$(git rev-parse --show-toplevel)"')[0] == ["cd", "$PWD"]
    assert programs("rm -rf `mktemp -d`")[0][2].startswith("/tmp/")
    # Others stay placeholders, each numbered once for the whole line, nested ones too.
    rm = parse("sh -c 'rm -rf $(ls ..)' && rm -rf \"$(cat dir)\"/x")
    targets = [s for s in rm if s.program == "rm"]
    shown = sorted(s.shown(s.argv[2]) for s in targets)
    assert shown == ["$(cat dir)/x", "$(ls ..)"]


def test_a_descriptor_number_is_not_a_word() -> None:
    assert programs("pytest 2>&1 | tail") == [["pytest"], ["tail"]]
    assert programs("init 0") == [["init", "0"]]
    assert parse("make 2>/dev/null")[0].writes == ["/dev/null"]


def test_escaped_bytes_piped_to_a_shell_are_read() -> None:
    assert programs("printf '\\x72\\x6d\\x20\\x2d\\x72\\x66\\x20\\x7e' | sh")[-1] == [
        "rm",
        "-rf",
        "~",
    ]


def test_inline_code_is_read_for_what_it_runs_deletes_and_writes() -> None:
    run = parse("python3 -c \"import os; os.system('git push -f')\"")
    assert run[-1].argv == ["git", "push", "-f"]  # judged as any command
    listed = parse("node -e \"require('child_process').execFileSync('rm', ['-rf', '/srv'])\"")
    assert listed[-1].argv == ["rm", "-rf", "/srv"]
    code = parse("python3 -c \"import shutil; shutil.rmtree('/x'); open('/y', 'w')\"")[0].code
    assert code is not None and code.deleted == ["/x"] and "/y" in code.written
    built = parse('python -c "import os, sys; os.system(sys.argv[1])" x')[0].code
    assert built is not None and built.runs_unknown and built.args == ["x"]
    heredoc = parse("python3 - <<'EOF'\nimport os\nos.remove('/etc/x')\nEOF")[0].code
    assert heredoc is not None and heredoc.deleted == ["/etc/x"]
    # A module, a script or plain computing is no inline code to worry about.
    assert parse("python -m pytest -q")[0].code is None
    assert parse("python3 scripts/gen.py")[0].code is None
    plain = parse("python3 -c 'print(1 + 1)'")[0].code
    assert plain is not None and not (plain.commands or plain.deleted or plain.written)
