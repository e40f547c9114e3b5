"""The phases of the CTC work, one engine per report; each returns tidy frames of numbers and
codes (the texts and charts for people are in :mod:`ctc_helpers.views` and
:mod:`ctc_helpers.plots`).

- :mod:`~ctc_helpers.phases.prioritization`: the factors ranked and a few suggested (notebook 02).
- :mod:`ctc_helpers.phases.gaps`: the resource and gap analysis and the draft goal chain (03).
- :mod:`ctc_helpers.phases.followup`: change between waves and the goal chain's progress (04).
- :mod:`ctc_helpers.phases.effects`: the effect evaluation (05).
- :mod:`~ctc_helpers.phases.process` and :mod:`~ctc_helpers.phases.delivery`: the CTC process
  and the implementation plan against what was delivered.
- :mod:`~ctc_helpers.phases.record`: the results record each phase notebook writes.
"""
