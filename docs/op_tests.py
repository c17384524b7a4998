"""A pytest plugin that notes which ops each test proves, for the derivative reference.

    pytest -p op_tests tests/test_ops_elementwise.py ...   (with docs/ on sys.path)

While a test runs, each call of a check of `minigrad.testing` (assert_matches_torch, gradcheck)
listens to the ops that run inside it (`autograd.events`). At the end, the plugin writes, as
JSON to the file named by MINIGRAD_OP_TESTS: for each test, its first docstring line and, per
check it made, the ops that ran in it. docs/reference.py runs it (with Hypothesis drawing one
example per test: which ops a test reaches does not depend on how many examples it draws).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from typing import Any

import pytest

from minigrad.autograd import events

current: dict[str, Any] | None = None  # the test running now: {check name: set of op names}
found: dict[str, dict[str, Any]] = {}


class OpsRun(events.Listener):
    def __init__(self) -> None:
        self.ops: set[str] = set()

    def op_begin(self, function: type, args: tuple[Any, ...]) -> None:
        self.ops.add(function.__name__)


def listening_check(check: Any) -> Any:
    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = OpsRun()
        try:
            with events.listening(run):
                return check(*args, **kwargs)
        finally:
            if current is not None:
                current.setdefault(check.__name__, set()).update(run.ops)

    return wrapper


def pytest_configure(config: pytest.Config) -> None:
    """Before the test modules import the checks: wrap them where they are imported from."""
    import minigrad.testing as testing
    from minigrad.testing import checks

    for name in ("assert_matches_torch", "gradcheck"):
        wrapped = listening_check(getattr(checks, name))
        setattr(checks, name, wrapped)
        setattr(testing, name, wrapped)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    global current
    current = {}
    try:
        return (yield)
    finally:
        if current:
            doc = inspect.getdoc(getattr(item, "function", None)) or ""
            found[item.nodeid] = {
                "doc": doc.split("\n\n")[0].replace("\n", " "),
                "checks": {check: sorted(ops) for check, ops in current.items()},
            }
        current = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    with open(os.environ["MINIGRAD_OP_TESTS"], "w") as f:
        json.dump(found, f, indent=1, sort_keys=True)
