"""The lifecycle drawn from the same machine definition that decides (:func:`states.machine_definition`).

Pure: no database, nothing read but the definition. ``santongbu diagram`` prints or writes it,
and the supervisor's dashboard shows the Mermaid text with each state's count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from states.lifecycle import machine_definition


def _graph(engine: Literal["mermaid", "graphviz"], **options: Any) -> Any:
    """The graph of a throwaway model on a GraphMachine built with ``engine``."""
    from transitions.extensions import GraphMachine  # 35 ms; every CLI command imports this module

    machine = GraphMachine(
        model=None, initial=None, graph_engine=engine, show_conditions=True, **options, **machine_definition()
    )
    model = type("Model", (), {})()
    machine.add_model(model, initial="draft")
    try:
        return model.get_graph()
    finally:
        machine.remove_model(model)


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram: every state, trigger and guard.

    Only the edges of transitions' drawing are kept: its front matter and class lines style the
    throwaway model's state (``draft``) as "active", which means nothing for the lifecycle, and
    ``all_guards_pass`` (the shared machine's catch-all condition) would repeat on every edge.
    """
    source = str(_graph("mermaid").source)
    edges = [line.strip().replace(" & all_guards_pass", "") for line in source.splitlines() if "-->" in line]
    return "\n".join(["stateDiagram-v2", "  direction LR", *("  " + e for e in edges)]) + "\n"


def draw(output: Path, fmt: str) -> None:
    """Draw the lifecycle into ``output`` as ``svg`` or ``png`` (needs Graphviz's ``dot``)."""
    _graph("graphviz").draw(str(output), prog="dot", format=fmt)
