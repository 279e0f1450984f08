"""The Telegram suite's fixtures (a fake Bot API per test, a started casebot talking
to it), reused here rather than built again."""

from tests.telegram.conftest import api, box, make_box

__all__ = ["api", "box", "make_box"]
