"""``santongbu diagram``: the lifecycle drawn from the same machine definition that decides."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _
from workflow.services.diagram import draw, mermaid


def register(app: typer.Typer) -> None:
    @app.command("diagram")
    @common.command
    def diagram(
        output: Path | None = typer.Option(
            None, "--output", "-o", help="Write .mmd (Mermaid), or .svg/.png when Graphviz is installed."
        ),
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
                common.fail(
                    _(
                        "SVG/PNG needs Graphviz ('apt-get install graphviz' and 'pip install graphviz'); use -o FILE.mmd for Mermaid"
                    )
                )
            draw(output, suffix[1:])
        else:
            common.fail(_("--output must end in .mmd, .svg or .png"))
        typer.echo(_("wrote {output}", output=output))
