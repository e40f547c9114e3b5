"""The display edge: every table and text a reader sees, in Swedish or English, made from the
published tables and the phases' tidy frames (rounding, labels and the suppression marker only
on display copies).

- :mod:`~ctc_helpers.views.labels`: names of areas, measures, grades, sexes, rules, domains;
  ``check_area``.
- :mod:`~ctc_helpers.views.frames`: the tidy frames with labels that tables and charts show.
- :mod:`~ctc_helpers.views.numbers`: percentages, percentage points and counts as text.
- :mod:`~ctc_helpers.views.tables`: ``DisplayTable`` and the cell helpers of every table.
- :mod:`~ctc_helpers.views.report`: headings, sections, the report header, methods, glossary.
- :mod:`~ctc_helpers.views.profile`: the tables of the profile report (notebook 01).
- :mod:`~ctc_helpers.views.prioritization`: the worksheet and its reasons (notebook 02).
- :mod:`~ctc_helpers.views.gaps`, :mod:`~ctc_helpers.views.actionplan`,
  :mod:`~ctc_helpers.views.gap_report`: the gap analysis (notebook 03), in one call.
- :mod:`~ctc_helpers.views.followup`, :mod:`~ctc_helpers.views.goal_chain`: the follow-up
  (notebook 04).
"""
