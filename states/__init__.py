"""The lifecycle of a policy document as pure rules: states, triggers, guards and permissions.

Nothing here touches a database or the network. The application hands in a frozen
:class:`~states.snapshot.DocumentSnapshot` and gets back a :class:`~states.lifecycle.Decision`.
"""

from states.lifecycle import Decision, State, Trigger, decide, machine_definition
from states.reasons import Reason, render
from states.snapshot import ActorSnapshot, DocumentSnapshot

__all__ = [
    "ActorSnapshot",
    "Decision",
    "DocumentSnapshot",
    "Reason",
    "State",
    "Trigger",
    "decide",
    "machine_definition",
    "render",
]
