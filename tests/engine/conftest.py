"""The platform axis of the engine suites: each runs on Telegram, on a bridge and on
Feishu (with the capabilities in `tests.harness.PLATFORMS`). Suites opt in with
`pytestmark = pytest.mark.usefixtures("platform")`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import PLATFORMS, use_platform


@pytest.fixture(params=sorted(PLATFORMS))
def platform(request: pytest.FixtureRequest) -> Iterator[str]:
    """`@pytest.mark.platforms("telegram")` keeps a test to the platforms named (a rule
    about a feature the others lack, such as forum topics)."""
    only = request.node.get_closest_marker("platforms")
    if only is not None and request.param not in only.args:
        pytest.skip(f"{request.param} has no such feature")
    with use_platform(request.param):
        yield request.param
