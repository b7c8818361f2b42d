"""Rules over the machine itself: sudo and fork-bomb (denied); crontab and system (asked
about: what outlives the run, disks, users, services, the network)."""

from __future__ import annotations

import re

from engine.guard.command import Simple, substituted
from engine.guard.paths import Call
from engine.guard.rules.argv import _starts, _words

#: Programs that run a command as another user (root, usually).
AS_ROOT = {"sudo", "doas", "pkexec", "run0", "sudoedit", "sudo-rs", "runuser", "gosu", "su-exec"}


def _sudo(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        if s.program in AS_ROOT or (s.program == "su" and "--help" not in s.argv):
            return "running as root (sudo) is not allowed for agents"
    return None


#: ``NAME() { … NAME | NAME & … }``: a function that starts copies of itself.
_DEFINES_FUNCTION = re.compile(r"\(\s*\)\s*[{(]|\bfunction\s")
_SHELL_FUNCTION = re.compile(
    r"(?:function\s+)?([^\s(){};|&<>'\"]+)\s*(?:\(\s*\))?\s*[{(]([^{}]*)[})]"
)
_FORK_LOOP = re.compile(
    r"\bfork\s*(?:\(\s*\)\s*)?(?:while|until|for)\b"
    r"|\b(?:while|until|loop|for)\b[\s\S]{0,60}?\bfork\s*(?:\(|\{|;|\}|$)"
    r"|(?:while\s*(?:true|:|1|\(\s*(?:true|1)\s*\))|until\s*(?:false|!\s*true)"
    r"|for\s*\(\(\s*;\s*;\s*\)\))\s*;?\s*do[^;]*&\s*;?\s*done"
    r"|\$0\s*&\s*\$0|\$0\s*\|\s*\$0",
    re.I,
)


def _fork_bomb(call: Call, commands: list[Simple]) -> str | None:
    texts = [call.command, *(s.code.text for s in commands if s.code is not None)]
    for text in texts:
        if "fork" not in text and "&" not in text:
            continue
        if _DEFINES_FUNCTION.search(text):
            for name, body in _SHELL_FUNCTION.findall(text):
                calls = re.findall(rf"(?:^|[\s;|&(]){re.escape(name)}(?=[\s;|&)]|$)", body)
                if "&" in body and len(calls) >= 1 and ("|" in body or len(calls) >= 2):
                    return (
                        "a function starting copies of itself (a fork bomb) takes the machine down"
                    )
        if _FORK_LOOP.search(text):
            return "processes started in an endless loop (a fork bomb) take the machine down"
    return None


#: What schedules commands to run later, beyond the run.
_SCHEDULERS = {
    "systemctl": {"enable", "reenable", "link", "preset", "edit", "add-wants"},
    "launchctl": {"load", "bootstrap", "submit", "enable", "kickstart", "unload", "bootout"},
    "loginctl": {"enable-linger"},
}


def _crontab(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        if "--help" in s.argv:
            continue  # asking how, not doing
        program, args = s.program, s.argv[1:]
        words = _words(args, {"-u"})
        if program == "crontab" and not ("-l" in args and not words):
            return "changing the crontab schedules commands that outlive the run"
        if program in ("at", "batch", "atrm", "systemd-run") and (words or s.stdin or s.piped_from):
            return f"{program} schedules commands that outlive the run"
        timer = "--user" in args and words[:1] in (["start"], ["restart"])
        if first := _starts(words, _SCHEDULERS, program) or (
            timer and any(w.endswith(".timer") for w in words) and words[0]
        ):
            return f"{program} {first} changes a service or timer that outlives the run"
        if program.startswith("schtasks") and any(a.lower() == "/create" for a in args):
            return "schtasks /create schedules commands that outlive the run"
    return None


#: Programs that change the whole machine whatever their arguments (their read-only uses
#: in :data:`_SYSTEM_READS`).
_SYSTEM = {
    *("shutdown", "reboot", "halt", "poweroff", "telinit", "killall", "killall5", "kexec"),
    *("mkfs", "mke2fs", "mkswap", "fdisk", "sfdisk", "gdisk", "cfdisk", "sgdisk", "parted"),
    *("wipefs", "blkdiscard", "losetup", "cryptsetup", "mdadm", "lvremove", "vgremove"),
    *("pvremove", "lvreduce", "swapoff", "swapon", "umount", "modprobe", "insmod", "rmmod"),
    *("useradd", "userdel", "usermod", "adduser", "deluser", "groupadd", "groupdel"),
    *("groupmod", "passwd", "chpasswd", "chsh", "chfn", "visudo", "setenforce", "chattr"),
    *("chroot", "update-grub", "grub-install", "efibootmgr", "nvram", "csrutil", "ifdown"),
    *("ifup", "pfctl", "firewall-cmd", "ufw", "nft", "iptables", "ip6tables", "iptables-restore"),
    *("hwclock", "dmsetup", "zpool", "zfs", "diskutil", "tune2fs", "e2fsck", "fsck", "hdparm"),
    *("resize2fs", "xfs_repair", "debugfs", "sysctl"),
}
_SYSTEM_READS = {
    "ufw": {"status"},
    "nft": {"list"},
    "iptables": {"-L", "-S", "--list", "--list-rules", "-nL", "-nvL", "-vnL", "-Ln"},
    "ip6tables": {"-L", "-S", "--list", "--list-rules", "-nL", "-nvL", "-vnL", "-Ln"},
    "firewall-cmd": {"--state", "--list-all", "--get-active-zones", "--list-ports"},
    "zpool": {"list", "status", "iostat"},
    "zfs": {"list", "get"},
    "diskutil": {"list", "info"},
    "hwclock": {"-r", "--show"},
    "fdisk": {"-l"},
    "parted": {"-l"},
    "swapon": {"--show", "-s", "--summary"},
}
_SERVICE_CHANGES = {
    *("stop", "restart", "disable", "mask", "unmask", "kill", "isolate", "poweroff", "reboot"),
    *("halt", "suspend", "hibernate", "kexec", "rescue", "emergency", "daemon-reload"),
    *("reload", "try-restart", "reload-or-restart", "set-default", "set-property"),
    *("force-reload",),
}
_PKILL_WIDE = {"-u", "-U", "--euid", "--uid", "-g", "-G", "--pgroup", "--group"}
_NETWORK_OBJECTS = {"link", "addr", "address", "route", "rule", "neigh", "tunnel"}
_NETWORK_CHANGES = {"set", "add", "del", "delete", "flush", "change", "replace", "down", "up"}


def _system(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        if "--help" in s.argv:
            continue  # asking how, not doing
        what = _changes_machine(s.program, s.argv[1:]) or _kills_all_listed(s)
        if s.argv[0].startswith("/etc/init.d/") or s.program == "rc-service":
            verb = set(s.argv[1:]) & _SERVICE_CHANGES
            what = what or (f"{s.argv[0]} {verb.pop()}" if verb else None)
        if what is not None:
            return f"{what} changes the whole machine: for the human to allow"
    return None


def _changes_machine(program: str, args: list[str]) -> str | None:
    words = _words(args)
    base = program.split(".", 1)[0]  # mkfs.ext4
    if base in _SYSTEM:
        reads = _SYSTEM_READS.get(base, set())
        if base == "killall" and {"-0", "-s0", "--signal=0"} & set(args):
            return None  # signal 0 only asks whether such a process runs
        # `sysctl kernel.x` reads a setting; `sysctl -w x=1` and `sysctl x=1` write one.
        if base == "sysctl":
            loads = {"-w", "-p", "--load", "--system", "--write"} & set(args)
            return "sysctl -w" if loads or any("=" in a for a in args) else None
        return None if set(args) & reads else program
    if program == "mount" and words:
        return "mount"
    if program in ("init", "telinit") and words[:1] and words[0] in ("0", "1", "6", "S", "s"):
        return f"init {words[0]}"
    if program == "systemctl" and set(words[:1]) & _SERVICE_CHANGES:
        return f"systemctl {words[0]}"
    if program == "service" and len(words) >= 2 and words[1] in _SERVICE_CHANGES:
        return f"service {words[0]} {words[1]}"
    if program == "kill" and _kills_everything(args):
        return "kill -1 (every process)"
    if program == "pkill" and (_PKILL_WIDE & set(args) or {".", ".*", "^"} & set(words)):
        return "pkill of another user's (or every) process"
    if program == "ip" and words[:1] and words[0] in _NETWORK_OBJECTS:
        return f"ip {words[0]} {words[1]}" if words[1:2] and words[1] in _NETWORK_CHANGES else None
    if program in ("ifconfig", "route", "nmcli") and set(words) & _NETWORK_CHANGES:
        return f"{program} {' '.join(words[:2])}"
    if program == "nmcli" and set(words) & {"off", "delete", "modify", "disconnect", "reload"}:
        return f"nmcli {' '.join(words[:2])}"
    if program == "journalctl" and any(
        a.startswith(("--vacuum", "--rotate", "--flush")) for a in args
    ):
        return "journalctl --vacuum (the machine's logs)"
    if program in ("hostnamectl", "timedatectl", "localectl") and words[:1]:
        return f"{program} {words[0]}" if words[0].startswith("set-") else None
    if program == "date" and any(a in ("-s", "--set") or a.startswith("--set=") for a in args):
        return "date -s"
    return None


def _kills_everything(args: list[str]) -> bool:
    """Whether ``kill ARGS`` signals every process (pid -1) or init (pid 1)."""
    targets: list[str] = []
    for k, arg in enumerate(args):
        if arg == "--":
            targets += args[k + 1 :]
            break
        if k == 0 and arg.startswith("-") and len(args) > 1:
            continue  # the signal (`-9`, `-KILL`, `-1` for HUP when a pid follows)
        if arg in ("-s", "-n", "--signal") or (k > 0 and args[k - 1] in ("-s", "-n")):
            continue
        targets.append(arg)
    return any(t in ("-1", "1") for t in targets)


#: Filters that leave only some processes of a listing (``ps aux | grep node``).
_PICKS = {"grep", "egrep", "fgrep", "rg", "pgrep", "head", "tail", "sed"}


def _kills_all_listed(s: Simple) -> str | None:
    """``ps -ef | awk '{print $2}' | xargs kill -9`` or ``kill $(ps -e -o pid=)``: every
    process listed, none picked out, killed."""
    if s.program not in ("kill", "pkill") and s.argv[1:2] != ["kill"]:
        return None
    listing: list[Simple] = []
    source = s.piped_from
    while source is not None:
        listing.append(source)
        source = source.piped_from
    texts = [s.substitutions.get(w, "") for w in s.argv if substituted(w)]
    listed = bool(listing) and listing[-1].program == "ps"
    picked = any(u.program in _PICKS or _awk_picks(u) for u in listing)
    if listed and not picked:
        return "killing every process ps lists"
    for text in texts:
        if re.match(r"\$\(\s*ps\b", text) and not re.search(
            r"grep|awk\s+'/|-C\b|-p\b|-u\b|--pid", text
        ):
            return "killing every process ps lists"
    return None


def _awk_picks(s: Simple) -> bool:
    """Whether an ``awk`` program chooses lines (``/node/ {print $2}``, ``$1 == x``)."""
    if not s.program.endswith("awk"):
        return False
    program = next((a for a in s.argv[1:] if not a.startswith("-")), "")
    return not program.lstrip().startswith("{") or "if" in program
