"""What the cockpit shows, derived from engine events: one ``RunView`` per run and the inbox.

Pure logic (no widgets), so it is tested without a screen. Transcripts are bounded in
memory; the store keeps everything.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cockpit.render import hidden_by_default, plural
from engine.domain.diffs import RepoStatus, WorktreeDiff
from engine.domain.events import (
    AgentText,
    ErrorOccurred,
    Event,
    FileChanged,
    GateDecided,
    GuardDecided,
    HumanAsked,
    ReviewDecided,
    RunStateChanged,
    SkillsLoaded,
    SteeringDelivered,
    SteeringQueued,
    ToolCallFinished,
    ToolCallRequested,
    TurnFinished,
    WorkCommitted,
)
from engine.domain.facts import RunFacts
from engine.domain.gates import GateResult
from engine.domain.models import Run, apply_decision, utcnow
from engine.domain.state import RunState

#: Transcript entries kept in memory per run (older ones stay in the store).
MAX_ENTRIES = 400
#: States in which a run is at work: its active time is the time spent in them.
WORKING = frozenset({RunState.STARTING, RunState.RUNNING})
#: Lines of a tool result shown before it is collapsed.
COLLAPSE_AFTER = 4


@dataclass
class Entry:
    """One transcript line (or block): agent text, a tool call, a steering receipt…"""

    #: text | tool | result | you | delivered | ask | state | error | turn | file | guard
    kind: str
    text: str
    detail: str = ""
    is_error: bool = False
    at: datetime = field(default_factory=utcnow)

    @property
    def collapsible(self) -> bool:
        """Tool results longer than a few lines are collapsed unless expanded."""
        return self.detail.count("\n") + 1 > COLLAPSE_AFTER


def _finding_line(finding: dict) -> str:
    where = str(finding.get("path", ""))
    if finding.get("line"):
        where += f":{finding['line']}"
    return f"{where}: {finding.get('code', '')} {finding.get('message', '')}".strip()


@dataclass
class InboxItem:
    """Something that needs the human. ``kind``: question, permission, gates, review."""

    run_id: str
    kind: str
    title: str
    since: datetime
    #: The answers offered (a permission's allow once / always for this run / deny).
    choices: list[str] = field(default_factory=list)


@dataclass
class RunView:
    """Everything the cockpit knows about one run: its stored row, what its whole history
    says (``facts``: the engine's, with the events since folded in) and the transcript of
    the events it read (the newest pages, then live)."""

    run: Run
    #: What the run's every event says; a view built without the engine's facts folds
    #: the run's events from its first.
    facts: RunFacts = field(default_factory=RunFacts)
    entries: deque[Entry] = field(default_factory=lambda: deque(maxlen=MAX_ENTRIES))
    diff: WorktreeDiff | None = None
    last_seq: int = 0
    #: Steering messages sent (from this cockpit or another) and not yet delivered.
    pending_steering: dict[int, str] = field(default_factory=dict)
    #: Ids of every steering message shown as sent: each is shown once, whether this
    #: cockpit's own receipt or the engine's event comes first.
    _steering_shown: set[int] = field(default_factory=set)
    #: Entries ever added (the deque keeps only the newest), so views append exactly once.
    entries_total: int = 0
    _first_seq: int = 0
    #: When the oldest event folded in happened (the start of what this view knows).
    _first_at: datetime | None = None

    def __post_init__(self) -> None:
        # Transitions are judged on the state the events tell, not on ``run.state``: the
        # stored row is re-read on state events and may already show the new state,
        # which would swallow the transition and its notice.
        if self.facts.state is None:
            self.facts.state = self.run.state

    # What the facts hold, read as the view's own.
    @property
    def question(self) -> str | None:
        """The open question (None when the run waits on nothing)."""
        return self.facts.question

    @property
    def question_since(self) -> datetime | None:
        """When the open question was asked."""
        return self.facts.question_since

    @property
    def question_kind(self) -> str:
        """``question``, or ``permission`` (the guard asks)."""
        return self.facts.question_kind

    @property
    def choices(self) -> list[str]:
        """The answers the open question offers."""
        return self.facts.choices

    @property
    def skills(self) -> list[str]:
        """The skills the run loaded, in the order the agent got them."""
        return self.facts.skills

    @property
    def guard(self) -> dict[str, dict[str, int]]:
        """The guard's decisions on this run: rule → outcome → count."""
        return self.facts.guard

    @property
    def review(self) -> ReviewDecided | None:
        """The human's review decision (approved or rejected), once made."""
        return self.facts.review

    @property
    def input_tokens(self) -> int:
        """Input tokens the run used, all its turns."""
        return self.facts.input_tokens

    @property
    def output_tokens(self) -> int:
        """Output tokens the run used, all its turns."""
        return self.facts.output_tokens

    @property
    def cost_usd(self) -> float | None:
        """What the run cost, when its backend said."""
        return self.facts.cost_usd

    @property
    def files_touched(self) -> int:
        """File changes the run reported."""
        return self.facts.files_touched

    @property
    def gates(self) -> dict[str, GateDecided]:
        """The latest verdict of each gate, by gate name."""
        return self.facts.gates

    def _add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.entries_total += 1

    def apply(self, event: Event) -> str | None:
        """Fold one event in; returns a notification worth raising, if any.

        Events at or below ``last_seq`` were already applied (snapshot then follow).
        One the facts already hold (the engine's, read after it was stored) only adds
        its transcript line: the stored row is as new as the facts.
        """
        if event.seq and event.seq <= self.last_seq:
            return None
        self.last_seq = max(self.last_seq, event.seq)
        if not self._first_seq:
            self._first_seq = event.seq  # a run followed live from its first event on
        if self._first_at is None:
            self._first_at = event.at
        prior = self.facts.state
        fresh = self.facts.apply(event)
        notice: str | None = None
        match event:
            case RunStateChanged(new=new, reason=reason):
                old = prior if fresh else event.old
                if fresh:
                    self._follow_state(event)
                if new is not old:
                    self._add(Entry("state", new.value, reason or ""))
                    if fresh:
                        notice = _notice_for(self.run, new)
            case AgentText(text=text):
                self._add(Entry("text", text))
            case ToolCallRequested(tool=tool, arguments=args):
                shown = args.get("command") or args.get("path") or ""
                self._add(Entry("tool", f"{tool} {shown}".strip()))
            case ToolCallFinished(tool=tool, output=output, is_error=is_error, exit_code=code):
                suffix = f" (exit {code})" if code is not None else ""
                self._add(Entry("result", f"{tool}{suffix}", output, is_error))
            case FileChanged(path=path, change=change):
                self._add(Entry("file", f"{change} {path}"))
            case TurnFinished(turn=turn):
                self.run.turns_completed = max(self.run.turns_completed, turn)
                self._add(Entry("turn", f"turn {turn} done"))
            case SteeringQueued(steering_id=sid, text=text):
                self.note_sent(sid, text)
            case SteeringDelivered(steering_id=sid, text=text):
                self.pending_steering.pop(sid, None)
                self._steering_shown.add(sid)  # a receipt coming after it adds nothing
                self._add(Entry("delivered", text))
            case HumanAsked(question=question):
                self._add(Entry("ask", question))
            case SkillsLoaded(names=names):
                self._add(Entry("turn", f"skills loaded: {', '.join(names)}"))
            case GuardDecided():
                self._transcribe_guard(event)
            case ReviewDecided(decision=decision, base=base, sha=sha, salvage=salvage):
                if fresh:
                    apply_decision(self.run, event)
                if decision == "approved" and not event.merged:
                    self._add(Entry("turn", f"approved: {base} already had its changes"))
                elif decision == "approved":
                    how = "squashed" if event.squash else "merged"
                    self._add(Entry("turn", f"approved: {how} into {base} as {(sha or '')[:12]}"))
                else:
                    self._add(Entry("turn", f"rejected: work saved in {salvage}"))
            case ErrorOccurred(message=message, detail=detail):
                self._add(Entry("error", message, detail or "", is_error=True))
            case WorkCommitted(sha=sha, branch=branch):
                what = f"committed to {branch}" if sha else "nothing to commit"
                self._add(Entry("turn", what))
            case GateDecided(name=name, status=status, findings=findings, detail=detail):
                if status == "running":  # a badge only; its verdict follows
                    return notice
                count = f", {plural(len(findings), 'finding')}" if findings else ""
                lines = [_finding_line(f) for f in findings] or ([detail] if detail else [])
                failed = status != "passed"
                self._add(
                    Entry("result", f"gate {name}: {status}{count}", "\n".join(lines), failed)
                )
        return notice

    def _follow_state(self, event: RunStateChanged) -> None:
        """The stored row's fields a state change moves, until the row is read again."""
        new = event.new
        self.run.state = new
        if new is RunState.RUNNING and self.run.started_at is None:
            self.run.started_at = event.at
        if new.is_terminal or new is RunState.INTERRUPTED:
            self.run.finished_at = event.at
        if new is RunState.FAILED:
            self.run.error = event.reason

    def _transcribe_guard(self, event: GuardDecided) -> None:
        if event.decision == "allow":
            return  # a rule of the user's let it through: counted, not worth a line
        refused = event.outcome == "refused"
        # The tool call's own line shows what was asked; this one says who decided, why.
        self._add(
            Entry(
                "guard",
                f"guard {'refused' if refused else 'allowed'} ({event.rule})",
                event.reason,
                is_error=refused,
            )
        )

    def guard_refusals(self) -> int:
        """Tool calls the guard refused in this run."""
        return sum(outcomes.get("refused", 0) for outcomes in self.guard.values())

    def gate_status(self, name: str) -> str:
        """A gate's status as shown: ``stale`` when it judged an older turn's tree than
        the run's newest (a verdict at finish judged the final tree: never stale)."""
        verdict = self.gates[name]
        if verdict.turn is not None and self.run.turns_completed > verdict.turn:
            return "stale"
        return verdict.status

    def red_gates(self) -> list[GateDecided]:
        """Blocking gates that did not pass on the newest tree."""
        return [
            g
            for name, g in self.gates.items()
            if g.blocking and self.gate_status(name) in ("failed", "error", "unavailable")
        ]

    @property
    def first_seq(self) -> int:
        """Seq of the oldest event folded into the transcript (0: none yet)."""
        return self._first_seq

    def load(self, events: Sequence[Event]) -> None:
        """Fold the newest page of a run's stored events (start-up, or a run seen late)."""
        if events and not self._first_seq:
            self._first_seq = events[0].seq
        for event in events:
            self.apply(event)

    def prepend(self, older: Sequence[Event]) -> int:
        """Put earlier stored events in front of the transcript; returns how many entries.

        They are folded on a scratch view: the facts (question, usage) are the whole
        run's already.
        """
        if not older:
            return 0
        scratch = RunView(self.run.copy())
        for event in older:
            scratch.apply(event)
        self._first_at = scratch._first_at or self._first_at
        kept = list(self.entries)
        self.entries = deque([*scratch.entries, *kept], maxlen=len(scratch.entries) + len(kept))
        self.entries_total += len(scratch.entries)
        self._first_seq = older[0].seq
        return len(scratch.entries)

    def note_sent(self, steering_id: int, text: str) -> None:
        """A steering message was sent (typed here, or the engine said so): shown once,
        pending until its agent gets it."""
        if steering_id in self._steering_shown:
            return
        self._steering_shown.add(steering_id)
        self.pending_steering[steering_id] = text
        self._add(Entry("you", text))

    @property
    def active_seconds(self) -> float | None:
        """Seconds the run was at work: the sum of its spans in ``starting``/``running``
        (to now while it still is), from its state changes. Idle time — finished and
        waiting to be continued, waiting for the human, interrupted — does not count.
        ``None`` before it ever started.

        The state changes are the facts' (every one, from the engine). A view built
        without them from a later page of events only: when the oldest change it saw left
        an active state, the span before it counts from the oldest event seen (a lower
        bound).
        """
        transitions = self.facts.transitions
        if self.run.started_at is None and not any(t.new in WORKING for t in transitions):
            return None
        now = utcnow()
        total = 0.0
        since: datetime | None = None
        if not transitions:
            # No state change seen (none loaded): the stored row is all there is.
            if self.run.state in WORKING and self.run.started_at is not None:
                since = self.run.started_at
        elif transitions[0].old in WORKING:
            since = self._first_at or self.run.started_at
        for change in transitions:
            if change.new in WORKING and since is None:
                since = change.at
            elif change.new not in WORKING and since is not None:
                total += (change.at - since).total_seconds()
                since = None
        if since is not None:
            total += (now - since).total_seconds()
        return max(0.0, total)

    @property
    def elapsed(self) -> float | None:
        """The run's active time (see ``active_seconds``), what the cockpit shows."""
        return self.active_seconds

    @property
    def since_start(self) -> float | None:
        """Wall-clock seconds since the run first started (idle time included): shown
        only labelled as such ("started 9m ago")."""
        if self.run.started_at is None:
            return None
        return max(0.0, (utcnow() - self.run.started_at).total_seconds())


def _notice_for(run: Run, new: RunState) -> str | None:
    """Only real transitions that matter to the human raise a notification."""
    if new is RunState.WAITING_FOR_HUMAN:
        return f"{run.id} ({run.repo}) needs you"
    if new is RunState.FINISHED:
        return f"{run.id} ({run.repo}) finished — ready for review"
    if new is RunState.FAILED:
        return f"{run.id} ({run.repo}) failed: {run.error or 'see transcript'}"
    return None


@dataclass
class CockpitModel:
    """All runs and repos the cockpit shows."""

    runs: dict[str, RunView] = field(default_factory=dict)
    repos: dict[str, RepoStatus | None] = field(default_factory=dict)
    #: Each configured repo's absolute path, as the engine has it (``EngineApi.repos``).
    repo_paths: dict[str, Path] = field(default_factory=dict)
    #: Runs the human dismissed from the inbox in this cockpit (an approved or rejected
    #: run is left out by its own ``review``).
    reviewed: set[str] = field(default_factory=set)
    #: The last gate check of each repo's working tree: when, and the verdicts (None
    #: while it runs).
    repo_gates: dict[str, tuple[datetime, list[GateResult] | None]] = field(default_factory=dict)
    #: Repos whose path is no git repo: what is wrong, as said to the human.
    repo_problems: dict[str, str] = field(default_factory=dict)
    #: The working-tree diff of each repo that has changes (a clean repo has none).
    repo_diffs: dict[str, WorktreeDiff] = field(default_factory=dict)
    #: Repos whose gates (configured, or their pyproject's defaults) are not empty.
    gated_repos: set[str] = field(default_factory=set)
    #: Also list runs decided over a day ago (hidden by default).
    show_all: bool = False

    def list_repos(self, paths: dict[str, Path]) -> None:
        """The configured repos are ``paths`` (by name, in the config's order): a repo no
        longer there is forgotten, a new one listed unread. The tables are changed in
        place: the screen holds them."""
        for gone in set(self.repos) - set(paths):
            for table in (self.repos, self.repo_problems, self.repo_diffs, self.repo_gates):
                table.pop(gone, None)
        self.repo_paths = paths
        known = dict(self.repos)
        self.repos.clear()
        self.repos.update((name, known.get(name)) for name in paths)

    def upsert(self, run: Run, facts: RunFacts | None = None) -> RunView:
        """Add a run from the store, or refresh its stored fields. A new view starts from
        ``facts`` (the engine's, of the run's every event) when given; a known one holds
        its facts already, with every event folded in since."""
        view = self.runs.get(run.id)
        if view is None:
            view = self.runs[run.id] = RunView(run, facts or RunFacts())
        else:
            view.run = run
        if view.review is not None and not run.decided:
            apply_decision(run, view.review)  # the event arrived before this read
        return view

    def shown_runs(self, now: datetime | None = None) -> list[RunView]:
        """The runs the list shows: all but those decided over a day ago, unless
        ``show_all``."""
        if self.show_all:
            return list(self.runs.values())
        now = now or utcnow()
        return [v for v in self.runs.values() if not hidden_by_default(v.run, now)]

    def hidden_count(self, now: datetime | None = None) -> int:
        """Runs left out of the list (decided over a day ago)."""
        return len(self.runs) - len(self.shown_runs(now))

    def apply(self, events: list[Event]) -> tuple[set[str], list[str]]:
        """Fold a batch in; returns (changed run ids, notifications)."""
        changed: set[str] = set()
        notices: list[str] = []
        for event in events:
            view = self.runs.get(event.run_id)
            if view is None:
                continue  # a run this cockpit has not loaded yet: the app fetches it
            notice = view.apply(event)
            changed.add(event.run_id)
            if notice:
                notices.append(notice)
        return changed, notices

    def counts(self) -> dict[str, int]:
        """Running, queued and waiting counts for the header."""
        states = [v.run.state for v in self.runs.values()]
        return {
            "running": sum(s in (RunState.STARTING, RunState.RUNNING) for s in states),
            "queued": sum(s is RunState.QUEUED for s in states),
            "waiting": len(self.inbox()),
        }

    def waiting(self) -> list[InboxItem]:
        """Everything waiting on the human, oldest first: the inbox, and the runs an
        engine's end interrupted (they wait for a resume)."""
        items = self.inbox()
        listed = {item.run_id for item in items}
        for view in self.runs.values():
            run = view.run
            if (
                run.state is RunState.INTERRUPTED
                and view.review is None
                and run.id not in listed
                and run.id not in self.reviewed
            ):
                title = f"interrupted — resume? {run.task}"
                items.append(InboxItem(run.id, "interrupted", title, run.updated_at))
        return sorted(items, key=lambda item: item.since)

    def inbox(self) -> list[InboxItem]:
        """Everything that needs the human, oldest first."""
        items: list[InboxItem] = []
        for view in self.runs.values():
            run = view.run
            if view.review is not None:
                continue  # decided: nothing left for the human
            if run.state is RunState.WAITING_FOR_HUMAN and view.question:
                since = view.question_since or run.updated_at
                items.append(
                    InboxItem(run.id, view.question_kind, view.question, since, view.choices)
                )
            elif (
                run.state is RunState.FINISHED and view.red_gates() and run.id not in self.reviewed
            ):
                names = ", ".join(g.name for g in view.red_gates())
                since = run.finished_at or run.updated_at
                items.append(InboxItem(run.id, "gates", f"red gates ({names}): {run.task}", since))
            elif run.state is RunState.FINISHED and run.id not in self.reviewed:
                since = run.finished_at or run.updated_at
                items.append(InboxItem(run.id, "review", f"ready for review: {run.task}", since))
            elif run.state is RunState.FAILED and run.id not in self.reviewed:
                since = run.finished_at or run.updated_at
                items.append(InboxItem(run.id, "failed", f"failed: {run.error or run.task}", since))
        return sorted(items, key=lambda item: item.since)
