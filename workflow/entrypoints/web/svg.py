"""Inline SVG for the dashboard: the lifecycle diagram with counts, and on-time rate bars.

No JavaScript library and nothing fetched from a CDN: the geometry is computed here and the
templates draw it (autoescaped), styled by the page's own CSS. The diagram is built from
:data:`states.lifecycle.TRANSITIONS`, the same declaration the engine decides with, so a new
transition shows up on the page without anyone drawing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from states.lifecycle import TERMINAL, TRANSITIONS, State

BOX_W, BOX_H, GAP = 124, 58, 100  # a gap wide enough for a six-character trigger name
STEP = BOX_W + GAP
# Where each state sits: the main path left to right, the side exits below it.
POSITIONS: dict[str, tuple[int, int]] = {
    State.DRAFT: (10, 100),
    State.INTERPRETATION_PLAN: (10 + STEP, 100),
    State.JOINT_SIGNOFF: (10 + 2 * STEP, 100),
    State.PUBLISHED: (10 + 3 * STEP, 100),
    State.INTERPRETATION_POSTED: (10 + 4 * STEP, 100),
    State.WITHDRAWN: (10 + STEP, 250),
    State.FILED: (10 + 3 * STEP, 250),
}
WIDTH, HEIGHT = 20 + 4 * STEP + BOX_W, 320


@dataclass(frozen=True)
class Node:
    state: str
    x: int
    y: int
    count: int
    terminal: bool

    @property
    def cx(self) -> int:
        return self.x + BOX_W // 2


@dataclass(frozen=True)
class Edge:
    trigger: str
    path: str
    label_x: float
    label_y: float
    back: bool
    show_label: bool
    anchor: str = "middle"


def _centre_top(state: str) -> tuple[int, int]:
    x, y = POSITIONS[state]
    return x + BOX_W // 2, y


def lifecycle(counts: Mapping[str, int]) -> dict[str, Any]:
    """Nodes and edges of the lifecycle, with the number of documents in each state."""
    nodes = [Node(str(s), *POSITIONS[s], counts.get(str(s), 0), s in TERMINAL) for s in State]
    edges: list[Edge] = []
    for t in TRANSITIONS:
        sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
        dest = t["dest"]
        dx, dy = POSITIONS[dest]
        for i, src in enumerate(sources):
            sx, sy = POSITIONS[src]
            if sy == dy and dx > sx:  # forward along the main path
                x1, y1, x2, y2 = float(sx + BOX_W), float(sy + BOX_H // 2), float(dx), float(dy + BOX_H // 2)
                edges.append(
                    Edge(str(t["trigger"]), f"M{x1},{y1} L{x2 - 2},{y2}", (x1 + x2) / 2, y1 - 7, False, True)
                )
            elif sy == dy:  # back along the main path (a rejection): an arc above the boxes
                steps = (sx - dx) // STEP
                x1, x2, y1 = sx + BOX_W // 2 - 10 * steps, dx + BOX_W // 2 + 10 * steps, sy
                cy = y1 - 44 - 86 * (steps - 1)  # longer jumps arc higher, clear of shorter ones
                edges.append(
                    Edge(
                        str(t["trigger"]),
                        f"M{x1},{y1} Q{(x1 + x2) / 2},{cy} {x2},{y1 - 2}",
                        (x1 + x2) / 2,
                        (y1 + cy) / 2 - 4,
                        True,
                        True,
                    )
                )
            else:  # down to a side exit
                x1, y1 = sx + BOX_W // 2 + (i - (len(sources) - 1) / 2) * 14, sy + BOX_H
                x2, y2 = dx + BOX_W // 2 + (sx - dx) / 12, dy
                last = i == len(sources) - 1
                edges.append(
                    Edge(
                        str(t["trigger"]), f"M{x1},{y1} L{x2},{y2 - 2}", x2 + 8, dy - 14, False, last, "start"
                    )
                )
    return {"nodes": nodes, "edges": edges, "width": WIDTH, "height": HEIGHT, "box_w": BOX_W, "box_h": BOX_H}


@dataclass(frozen=True)
class Bar:
    label: str
    rate: float | None
    width: float
    y: int
    level: str
    detail: str


def rate_bars(rows: Sequence[Mapping[str, Any]], *, width: int = 360) -> dict[str, Any]:
    """One horizontal bar per unit row of the on-time report (``rate`` 0..1 or ``None``)."""
    bars = []
    for i, r in enumerate(rows):
        rate = r.get("rate")
        level = "none" if rate is None else "good" if rate >= 0.9 else "warn" if rate >= 0.6 else "bad"
        decided = int(r.get("on_time", 0)) + int(r.get("late", 0)) + int(r.get("overdue", 0))
        detail = f"{rate * 100:.1f}% ({r.get('on_time', 0)}/{decided})" if rate is not None else "—"
        bars.append(
            Bar(
                str(r.get("unit_name") or r.get("unit")),
                rate,
                (rate or 0) * width,
                10 + i * 32,
                level,
                detail,
            )
        )
    return {
        "bars": bars,
        "bar_width": width,
        "label_width": 130,
        "height": 20 + 32 * len(bars),
        "width": 130 + width + 130,
    }
