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
    """The lifecycle as a Mermaid state diagram: every state, trigger and guard."""
    return str(_graph("mermaid", title="Santongbu lifecycle").source)


def draw(output: Path, fmt: str) -> None:
    """Draw the lifecycle into ``output`` as ``svg`` or ``png`` (needs Graphviz's ``dot``)."""
    _graph("graphviz").draw(str(output), prog="dot", format=fmt)
