"""``santongbu diagram``: the lifecycle drawn from the same machine definition that decides."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

import typer

from workflow.entrypoints.cli import common


def mermaid() -> str:
    """Mermaid text from a GraphMachine built on :func:`states.machine_definition`."""
    from transitions.extensions import GraphMachine

    from states.lifecycle import machine_definition

    machine = GraphMachine(model=None, initial=None, graph_engine="mermaid", show_conditions=True,
                           title="Santongbu lifecycle", **machine_definition())

    class _Model:
        pass

    model = _Model()
    machine.add_model(model, initial="draft")
    try:
        return str(model.get_graph().source)
    finally:
        machine.remove_model(model)


def register(app: typer.Typer) -> None:
    @app.command("diagram")
    @common.command
    def diagram(
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write .mmd (Mermaid), or .svg/.png when Graphviz is installed."),
    ) -> None:
        """Print the lifecycle as a Mermaid state diagram (every state, trigger and guard)."""
        if output is None:
            typer.echo(mermaid())
            return
        suffix = output.suffix.lower()
        if suffix in (".mmd", ".md", ".txt"):
            output.write_text(mermaid() + "\n", encoding="utf-8")
        elif suffix in (".svg", ".png"):
            if shutil.which("dot") is None:
                common.fail("SVG/PNG needs Graphviz ('apt-get install graphviz' and 'pip install graphviz'); use -o FILE.mmd for Mermaid")
            from transitions.extensions import GraphMachine

            from states.lifecycle import machine_definition

            machine = GraphMachine(model=None, initial=None, graph_engine="graphviz", show_conditions=True, **machine_definition())
            holder = type("M", (), {})()
            machine.add_model(holder, initial="draft")
            holder.get_graph().draw(str(output), prog="dot", format=suffix[1:])
            machine.remove_model(holder)
        else:
            common.fail("--output must end in .mmd, .svg or .png")
        typer.echo(f"wrote {output}")
