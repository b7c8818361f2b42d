"""Code run from elsewhere or in disguise: pipe-to-shell (a downloaded script run, a shell
handed to another host) and encoded-payload (what is decoded or unescaped, then run)."""

from __future__ import annotations

import re

from engine.guard.command import Simple, substituted, substituted_words
from engine.guard.interpreters import interpreter
from engine.guard.paths import Call
from engine.guard.rules.argv import _short_flags, _upstream
from engine.guard.rules.files import _downloaded
from engine.guard.shell import SHELLS

DOWNLOADERS = {"curl", "wget", "fetch", "aria2c"}
INTERPRETERS = SHELLS | {"python", "python3", "perl", "ruby", "node", "php", "eval", "source", "."}
#: Programs that talk to other hosts (what they are given may leave the machine).
NETWORK = {
    *DOWNLOADERS,
    *("nc", "ncat", "netcat", "socat", "telnet", "http", "https", "xh", "curlie", "httpie"),
    *("ssh", "scp", "sftp", "ftp", "rsync", "openssl", "websocat", "wscat", "grpcurl"),
}


def _pipe_to_shell(call: Call, commands: list[Simple]) -> str | None:
    downloads_in_subst = any(s.program in DOWNLOADERS and s.substituted for s in commands)
    fetched = {
        call.resolve(f, s.cwd)
        for s in commands
        # `curl -o x.sh URL`, or `curl URL > x.sh`
        for f in [*_downloaded(s), *(s.writes if s.program in DOWNLOADERS else ())]
        if f != "-"
    }
    for s in commands:
        if s.program in INTERPRETERS or interpreter(s.program):
            # Anywhere upstream in the pipeline: `curl … | tee x.sh | sh` runs it too.
            if _runs_stdin(s) and any(source.program in NETWORK for source in _upstream(s)):
                return "running a downloaded script (curl | sh) is not allowed"
            if downloads_in_subst and substituted_words(s):
                return 'running a downloaded script (sh -c "$(curl …)") is not allowed'
        script = _script_run(s)
        if fetched and script is not None and call.resolve(script, s.cwd) in fetched:
            return "running a script downloaded by the same command (curl -o x.sh && sh x.sh) is not allowed"
        if _serves_shell(s):
            return f"{s.program} hands a shell to another host (a reverse shell)"
        if s.code is not None and (reason := _code_from_elsewhere(s.code.text)):
            return reason
    return None


#: Inline code evaluating code (``exec(...)``, ``eval $x``), and fetching from a host.
_CODE_EVALUATES = re.compile(
    r"(?<![\w.$])(?:exec|eval|instance_eval|loadstring|load)\s*[(\s]|\bnew\s+Function\s*\("
    r"|\bvm\.run\w*\s*\("
)
_CODE_FETCHES = re.compile(
    r"urlopen|urllib\.request|requests\.(?:get|post)|httpx\.|\bfetch\s*\(|\bhttps?\.get\s*\("
    r"|file_get_contents\s*\(\s*['\"]https?:|Net::HTTP|URI\.open|open-uri|LWP::|HTTP::Tiny"
    r"|\baxios\b|\.recv\s*\("
)
#: Inline code connecting to a host, and handing it a shell.
_CODE_CONNECTS = re.compile(
    r"\bsocket\b|\bSocket\b|TCPSocket|fsockopen|\bnet\.(?:connect|Socket|createConnection)"
    r"|IO::Socket"
)
_CODE_SHELL = re.compile(
    r"dup2|pty\.spawn|/bin/(?:ba|z|da|k)?sh\b|['\"](?:ba|z)?sh['\"]\s*,\s*\[?\s*['\"]-i"
    r"|cmd\.exe|STDIN->fdopen|\bexec\s*\(?\s*['\"](?:ba)?sh"
)


def _code_from_elsewhere(text: str) -> str | None:
    """Why inline code runs what comes from another host: code it downloads and
    evaluates, or a shell it hands to a host it connects to."""
    if _CODE_EVALUATES.search(text) and _CODE_FETCHES.search(text):
        return "inline code running code it downloads is not allowed"
    if _CODE_CONNECTS.search(text) and _CODE_SHELL.search(text):
        return "inline code handing a shell to another host (a reverse shell) is not allowed"
    return None


def _serves_shell(s: Simple) -> bool:
    """``nc -e /bin/sh host port``, ``socat exec:bash tcp:host:port``."""
    if s.program in ("nc", "ncat", "netcat"):
        return bool({"-e", "-c", "--exec", "--sh-exec", "--lua-exec"} & set(s.argv))
    if s.program == "socat":
        return any(a.lower().startswith(("exec:", "system:")) for a in s.argv[1:])
    return False


#: The options that give an interpreter its code inline (a shell's is ``-c``).
_INLINE_OPTIONS = {"python": "cm", "perl": "eE", "ruby": "e", "node": "ep", "php": "r", "bun": "e"}
#: Files naming the standard input.
STDIN_FILES = {"-", "/dev/stdin", "/dev/fd/0"}


def _runs_stdin(s: Simple) -> bool:
    """Whether an interpreter runs the program on its standard input (``sh``,
    ``bash -s``, ``python3 -``), rather than reading it as data (``python3 -m json.tool``)."""
    args = s.argv[1:]
    language = interpreter(s.program)
    if set(_INLINE_OPTIONS.get(language or "", "c")) & _short_flags(args):
        return False
    operands = [a for a in args if not a.startswith("-") or a in STDIN_FILES]
    return not operands or operands[0] in STDIN_FILES or "-s" in args


def _script_run(s: Simple) -> str | None:
    """The script file ``s`` runs: an interpreter's first operand, or the program
    itself when it is named by a path (``./install.sh``)."""
    if s.program in INTERPRETERS or interpreter(s.program):
        operands = [a for a in s.argv[1:] if not a.startswith("-")]
        return operands[0] if operands and s.code is None and "-c" not in s.argv else None
    return s.argv[0] if s.argv and "/" in s.argv[0] else None


_DECODERS = {
    *("base64", "base32", "basenc", "gbase64", "openssl", "xxd", "gzip", "bzip2", "xz"),
    *("zstd", "lz4", "brotli", "printf", "echo", "uudecode", "gunzip", "zcat", "bzcat"),
    *("xzcat", "unxz", "bunzip2", "zstdcat", "rev", "tr", "uncompress"),
}


def _decodes(s: Simple) -> bool:
    """Whether ``s`` decodes or unscrambles its input (base64 -d, xxd -r, rev...)."""
    program, args = s.program, s.argv[1:]
    if program not in _DECODERS:
        return False
    flags = set(args) | {f"-{letter}" for letter in _short_flags(args)}
    if program in ("base64", "base32", "basenc", "gbase64"):
        return bool({"-d", "-D", "--decode"} & flags)
    if program == "openssl":
        return bool({"-d", "-base64", "-a"} & flags) and bool(args) and args[0] in ("enc", "base64")
    if program == "xxd":
        return "-r" in flags
    if program in ("gzip", "bzip2", "xz", "zstd", "lz4", "brotli"):
        return bool({"-d", "--decompress"} & flags)
    if program in ("printf", "echo"):
        return any(_ESCAPED.search(a) for a in args)
    return program in (
        *("uudecode", "gunzip", "zcat", "bzcat", "xzcat", "unxz", "bunzip2", "zstdcat"),
        *("rev", "tr", "uncompress"),
    )


#: Bytes written as escapes (``\x72``, ``\162``): text hidden from a reader.
_ESCAPED = re.compile(r"\\(?:x[0-9a-fA-F]{2}|0?[0-7]{3})")
#: Inline code running what it decodes (``exec(base64.b64decode(...))``).
_CODE_RUNS_DECODED = re.compile(
    r"\b(?:exec|eval|system|popen|execSync|spawnSync|Function|shell_exec|passthru"
    r"|instance_eval|os\.system|subprocess\.\w+)\b\s*\(?[^;\n]{0,120}?(?:b64decode|b32decode"
    r"|base64|fromhex|unhexlify|\batob\s*\(|Buffer\.from\(|decode_base64|decode64"
    r"|unpack1?\s*\(?\s*['\"][mH]|pack\s*\(?\s*['\"]H|gzinflate|str_rot13|rot_?13"
    r"|zlib\.decompress|marshal\.loads|codecs\.decode|\\x[0-9a-fA-F]{2})"
)


def _encoded_payload(call: Call, commands: list[Simple]) -> str | None:
    decoders = {id(s): s for s in commands if _decodes(s)}
    decoded_in_subst = any(s.substituted for s in decoders.values())
    decoded_files = {
        call.resolve(w, s.cwd)
        for s in commands
        if decoders and (id(s) in decoders or any(id(u) in decoders for u in _upstream(s)))
        for w in s.writes
    }
    for s in commands:
        runner = s.program in INTERPRETERS or interpreter(s.program) is not None
        upstream = decoders and any(id(u) in decoders for u in _upstream(s))
        generated = runner and any(u.code is not None for u in _upstream(s))
        if runner and (upstream or generated) and _runs_stdin(s):
            return "running a decoded payload (… | base64 -d | sh) hides what runs"
        hidden_program = s.argv and substituted(s.argv[0])
        if decoded_in_subst and ((runner and substituted_words(s)) or hidden_program):
            return 'running a decoded payload (eval "$(… | base64 -d)") hides what runs'
        if s.program in SHELLS | {"eval"} and any(_ESCAPED.search(a) for a in s.argv[1:]):
            return "running escaped bytes as a command ($'\\x72\\x6d') hides what runs"
        script = _script_run(s) if decoded_files else None
        if script is not None and call.resolve(script, s.cwd) in decoded_files:
            return "running a script decoded by the same command hides what runs"
        if s.code is not None and _CODE_RUNS_DECODED.search(s.code.text):
            return "inline code running what it decodes (exec(b64decode(…))) hides what runs"
    return None
