"""Fixtures the chart tests share with the tests of the tables behind the charts."""

from tests.views.test_followup import three_waves  # noqa: F401 - waves of a hand-made table
from tests.views.test_goal_chain import aggregates, evaluated, inventory, norr  # noqa: F401
