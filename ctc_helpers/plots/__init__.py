"""Every chart: plot functions take ``ax=None`` and return the Axes, never show, save or size the
figure; the report charts are drawn once and kept as PNG files beside the published tables.

- :mod:`~ctc_helpers.plots.profile`: the profile, behaviours, areas and prioritisation charts.
- :mod:`~ctc_helpers.plots.gaps`, :mod:`~ctc_helpers.plots.followup`,
  :mod:`~ctc_helpers.plots.goal_chain`: the charts of the gap analysis and the follow-up.
- :mod:`~ctc_helpers.plots.report_charts`: how each report chart is drawn from a published folder.
- :mod:`~ctc_helpers.plots.cache`: the chart registry and cache (``chart``, ``render``);
  :mod:`~ctc_helpers.plots.sources`: the checksums a cached chart is named by.
"""
