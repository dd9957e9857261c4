"""The lifecycle of docs/design.md §2, declared once on ``transitions``.

One :class:`transitions.Machine` is shared by every document, built once at import. To decide
a trigger, a throw-away case carrying the stored state is handed straight to the machine's
``Event.trigger(case)``; it is never attached with ``add_model``. Attaching costs about 150 µs
(every trigger and ``is_<state>`` helper is bound onto the object), keeps a strong reference
until removed, and resets the state unless ``initial`` is passed; dispatching on the event
costs about 30 µs and leaves the machine untouched, so no lock is needed either
(``bench/`` measures all three ways). Guards only *look*; no callback changes anything outside
the case, because a callback that fails after the state moved cannot be rolled back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from transitions import EventData, Machine, MachineError

from states.guards import GUARDS, Guard
from states.reasons import Reason
from states.snapshot import DocumentSnapshot


class State(StrEnum):
    DRAFT = "draft"
    INTERPRETATION_PLAN = "interpretation_plan"
    JOINT_SIGNOFF = "joint_signoff"
    PUBLISHED = "published"
    INTERPRETATION_POSTED = "interpretation_posted"
    WITHDRAWN = "withdrawn"
    FILED = "filed"


class Trigger(StrEnum):
    PREPARE_PLAN = "prepare_plan"
    REQUEST_SIGNOFF = "request_signoff"
    PUBLISH = "publish"
    FILE_UNDISCLOSED = "file_undisclosed"
    POST_INTERPRETATION = "post_interpretation"
    REJECT = "reject"
    REJECT_TO_DRAFT = "reject_to_draft"
    WITHDRAW = "withdraw"


TERMINAL = frozenset({State.INTERPRETATION_POSTED, State.WITHDRAWN, State.FILED})
# States in which the package (text, plan, materials) may still change.
EDITABLE = frozenset({State.DRAFT, State.INTERPRETATION_PLAN, State.JOINT_SIGNOFF})

# Who may fire a trigger (docs/design.md §7): the drafting unit's members, or a named signer.
DRAFTING_UNIT = "drafting_unit"
SIGNER = "signer"

_BEFORE_PUBLICATION = [State.DRAFT, State.INTERPRETATION_PLAN, State.JOINT_SIGNOFF]

# Each row: the trigger, where it leads, its guards (states/guards.py), who may fire it
# (``by``) and the name of the effect the service applies inside the change's transaction
# (``effect``; workflow/services/documents/effects.py maps each name to a method).
TRANSITIONS: list[dict[str, Any]] = [
    {
        "trigger": Trigger.PREPARE_PLAN,
        "source": State.DRAFT,
        "dest": State.INTERPRETATION_PLAN,
        "guards": ["draft_complete"],
        "by": DRAFTING_UNIT,
        "effect": None,
    },
    {
        "trigger": Trigger.REQUEST_SIGNOFF,
        "source": State.INTERPRETATION_PLAN,
        "dest": State.JOINT_SIGNOFF,
        "guards": ["plan_complete"],
        "by": DRAFTING_UNIT,
        "effect": "request_signoff",
    },
    {
        "trigger": Trigger.PUBLISH,
        "source": State.JOINT_SIGNOFF,
        "dest": State.PUBLISHED,
        "guards": ["may_be_disclosed", "package_signed", "publication_facts"],
        "by": DRAFTING_UNIT,
        "effect": "publish",
    },
    {
        "trigger": Trigger.FILE_UNDISCLOSED,
        "source": State.JOINT_SIGNOFF,
        "dest": State.FILED,
        "guards": ["is_undisclosed", "package_signed"],
        "by": DRAFTING_UNIT,
        "effect": "close",
    },
    {
        "trigger": Trigger.POST_INTERPRETATION,
        "source": State.PUBLISHED,
        "dest": State.INTERPRETATION_POSTED,
        "guards": ["posted_everywhere"],
        "by": DRAFTING_UNIT,
        "effect": "complete",
    },
    {
        "trigger": Trigger.REJECT,
        "source": State.JOINT_SIGNOFF,
        "dest": State.INTERPRETATION_PLAN,
        "guards": ["reason_given"],
        "by": SIGNER,
        "effect": "reject",
    },
    {
        "trigger": Trigger.REJECT_TO_DRAFT,
        "source": State.JOINT_SIGNOFF,
        "dest": State.DRAFT,
        "guards": ["reason_given"],
        "by": SIGNER,
        "effect": "reject",
    },
    {
        "trigger": Trigger.WITHDRAW,
        "source": _BEFORE_PUBLICATION,
        "dest": State.WITHDRAWN,
        "guards": ["reason_given"],
        "by": DRAFTING_UNIT,
        "effect": "close",
    },
]

# Who fires each trigger and the effect it has, read off the rows above.
FIRED_BY: dict[str, str] = {str(t["trigger"]): t["by"] for t in TRANSITIONS}
EFFECTS: dict[str, str | None] = {str(t["trigger"]): t["effect"] for t in TRANSITIONS}
# Triggers a named signer fires; every other trigger is the drafting unit's.
SIGNER_TRIGGERS = frozenset(Trigger(t) for t, by in FIRED_BY.items() if by == SIGNER)

# The way forward a document takes (docs/design.md §2): the web pages show the step that
# moves it on. A 不予公开 document leaves joint sign-off by being filed instead.
FORWARD_PATH = (
    State.DRAFT,
    State.INTERPRETATION_PLAN,
    State.JOINT_SIGNOFF,
    State.PUBLISHED,
    State.INTERPRETATION_POSTED,
)
UNDISCLOSED_PATH = (State.DRAFT, State.INTERPRETATION_PLAN, State.JOINT_SIGNOFF, State.FILED)

# The rejections a signer may choose between, by where they send the package back.
REJECT_TO: dict[str, Trigger] = {"plan": Trigger.REJECT, "draft": Trigger.REJECT_TO_DRAFT}


def _sources(row: Mapping[str, Any]) -> list[str]:
    source = row["source"]
    return [str(s) for s in source] if isinstance(source, list) else [str(source)]


def forward_trigger(state: str, disclosure: str | None = None) -> str | None:
    """The trigger that moves a document on from ``state`` along its path (``None`` once it
    is closed): :data:`FORWARD_PATH`, or :data:`UNDISCLOSED_PATH` for a 不予公开 document."""
    path = UNDISCLOSED_PATH if disclosure == "not_disclosed" else FORWARD_PATH
    steps = [str(s) for s in path]
    if state not in steps[:-1]:
        return None
    dest = steps[steps.index(state) + 1]
    return next(
        (str(t["trigger"]) for t in TRANSITIONS if state in _sources(t) and str(t["dest"]) == dest), None
    )


class _GuardCondition:
    """A named guard as a transitions condition.

    It records what is missing on the case and lets evaluation go on, so that every guard of
    the transition runs; the closing :func:`all_guards_pass` condition then decides. Named so
    the diagram labels each edge with its guards.
    """

    def __init__(self, name: str, guard: Guard) -> None:
        self.__name__ = name
        self._guard = guard

    def __call__(self, event: EventData) -> bool:
        case = event.model
        assert isinstance(case, _Case)
        case.reasons.extend(self._guard(case.snapshot, case.args))
        return True


def all_guards_pass(event: EventData) -> bool:
    case = event.model
    assert isinstance(case, _Case)
    return not case.reasons


def machine_definition() -> dict[str, Any]:
    """States and transitions as ``transitions`` keyword arguments: the one declaration that
    both the runtime machine and the diagram are built from."""
    transitions = []
    for t in TRANSITIONS:
        conditions = [_GuardCondition(name, GUARDS[name]) for name in t["guards"]]
        transitions.append(
            {
                "trigger": str(t["trigger"]),
                "source": _sources(t) if isinstance(t["source"], list) else str(t["source"]),
                "dest": str(t["dest"]),
                "conditions": [*conditions, all_guards_pass],
            }
        )
    return {
        "states": [str(s) for s in State],
        "transitions": transitions,
        "auto_transitions": False,
        "send_event": True,
        "ignore_invalid_triggers": False,
    }


class _Case:
    """What is attached to the shared machine for one decision; never outlives it."""

    def __init__(self, snapshot: DocumentSnapshot, args: Mapping[str, Any]) -> None:
        self.snapshot = snapshot
        self.args = args
        self.reasons: list[Reason] = []
        self.state: str = snapshot.state


@dataclass(frozen=True)
class Decision:
    """The answer to "may this trigger fire now?" and where it leads."""

    trigger: str
    source: str
    dest: str | None
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    @property
    def allowed(self) -> bool:
        return self.dest is not None and not self.reasons


_MACHINE = Machine(model=None, initial=None, **machine_definition())


def triggers_from(state: str) -> list[str]:
    """The triggers the lifecycle offers in ``state`` (whatever the guards will say)."""
    return [t for t in _MACHINE.get_triggers(state) if t in Trigger.__members__.values()]


def decide(snapshot: DocumentSnapshot, trigger: str, args: Mapping[str, Any] | None = None) -> Decision:
    """Run ``trigger`` against the shared machine for this snapshot; nothing else changes."""
    args = args or {}
    if trigger not in {str(t) for t in Trigger}:
        return Decision(trigger, snapshot.state, None, (Reason("unknown_trigger", {"trigger": trigger}),))
    case = _Case(snapshot, args)
    try:
        moved = _MACHINE.events[trigger].trigger(case)
    except MachineError:
        return Decision(
            trigger,
            snapshot.state,
            None,
            (Reason("wrong_state", {"state": snapshot.state, "trigger": trigger}),),
        )
    dest = case.state if moved else None
    if not moved and not case.reasons:  # pragma: no cover - a guard failed without saying why
        case.reasons.append(Reason("wrong_state", {"state": snapshot.state, "trigger": trigger}))
    return Decision(trigger, snapshot.state, dest, tuple(case.reasons))
