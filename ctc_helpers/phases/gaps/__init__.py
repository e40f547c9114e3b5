"""The resource and gap analysis (notebook 03), one module per step; tidy frames of codes and
numbers (their texts are in :mod:`ctc_helpers.views.gaps`).

- :mod:`~ctc_helpers.phases.gaps.inventory` (with :mod:`~ctc_helpers.phases.gaps.inventory_rows`):
  the area teams' programme inventory, read and checked.
- :mod:`~ctc_helpers.phases.gaps.inputs`: enrolment, the programmes running, the priorities;
  ``load_gap_inputs``.
- :mod:`~ctc_helpers.phases.gaps.matrix`: the gap matrix, coverage and the city view.
- :mod:`~ctc_helpers.phases.gaps.gaps`: the gaps; :mod:`~ctc_helpers.phases.gaps.suggestions`:
  programmes of the bank for them.
- :mod:`~ctc_helpers.phases.gaps.actionplan`: the draft goal chain.
"""
