"""``bench/profile_layers.py`` charges a library function's time to the layer that called it.

Issue 20's conclusion (docs/performance.md, "What remains") rests on that split, so it is
checked here on code whose answer is known: two functions compiled as if they lived in
``workflow/`` and in SQLAlchemy, both calling the same standard-library function, and a driver
call. No server; the profile is of this process.
"""

from __future__ import annotations

import cProfile
import pstats

import pytest

from bench.profile_layers import DRIVER, OTHER, OURS, SQLALCHEMY, by_layer, layer_of

_SOURCE = """
import json

def work(n):
    for _ in range(n):
        json.dumps(list(range(200)))
"""


def _function(filename: str):  # type: ignore[no-untyped-def]
    namespace: dict[str, object] = {}
    exec(compile(_SOURCE, filename, "exec"), namespace)
    return namespace["work"]


def test_layers_by_where_a_function_lives() -> None:
    assert layer_of(("/repo/workflow/services/documents/loading.py", 1, "load")) == OURS
    assert layer_of(("/repo/states/lifecycle.py", 1, "decide")) == OURS
    assert layer_of(("/v/site-packages/sqlalchemy/orm/session.py", 1, "commit")) == SQLALCHEMY
    assert layer_of(("/v/site-packages/psycopg/cursor.py", 1, "execute")) == DRIVER
    assert layer_of(("~", 0, "<method 'execute' of 'sqlite3.Cursor' objects>")) == DRIVER
    assert layer_of(("/usr/lib/python3.11/json/encoder.py", 1, "encode")) is None  # its callers'
    assert layer_of(("/v/site-packages/transitions/core.py", 1, "trigger")) is None


def test_library_time_is_charged_to_its_callers_in_proportion() -> None:
    ours = _function("/repo/workflow/fake_ours.py")
    alchemy = _function("/v/site-packages/sqlalchemy/fake_alchemy.py")
    profile = cProfile.Profile()
    profile.enable()
    ours(300)
    alchemy(100)
    profile.disable()
    stats = pstats.Stats(profile)
    seconds = by_layer(stats)

    total = sum(own for _, _, own, _, _ in stats.stats.values())  # type: ignore[attr-defined]
    assert sum(seconds.values()) == pytest.approx(total)  # every second charged once
    assert seconds[DRIVER] == 0
    # json.dumps ran three times as often under ours as under SQLAlchemy: so did its time.
    assert seconds[OURS] / seconds[SQLALCHEMY] == pytest.approx(3, rel=0.35)
    assert seconds[OTHER] < 0.05 * total  # only the profiler's own disable() is nobody's
