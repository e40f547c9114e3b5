"""Follow-up between survey waves (notebook 04): tidy frames of codes and numbers (their texts are
in :mod:`ctc_helpers.views.followup` and :mod:`ctc_helpers.views.goal_chain`).

- :mod:`~ctc_helpers.phases.followup.selection`: the rows of one group over its waves.
- :mod:`~ctc_helpers.phases.followup.assessment`: better or worse, and the verdicts' codes.
- :mod:`~ctc_helpers.phases.followup.changes`: change since the previous and the first wave.
- :mod:`~ctc_helpers.phases.followup.trends`: levels over all waves and the trend test.
- :mod:`~ctc_helpers.phases.followup.cohorts`: the same year group across waves.
- :mod:`~ctc_helpers.phases.followup.goal_progress`: the goal chain evaluated in a wave.
- :mod:`~ctc_helpers.phases.followup.record`: notebook 04's results record.
"""
