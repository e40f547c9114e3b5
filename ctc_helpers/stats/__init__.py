"""Statistics for prevalences and their change between waves and areas, one module per domain.

- :mod:`~ctc_helpers.stats.intervals`: Wilson and Newcombe intervals, Kish effective n, weighted
  proportions.
- :mod:`~ctc_helpers.stats.significance`: two-proportion z-test, k-sample chi-square test,
  Cohen's h, Holm's adjustment, change codes and the tidy comparison table.
- :mod:`~ctc_helpers.stats.trend`: logistic trend over three or more waves.
- :mod:`~ctc_helpers.stats.inputs` and :mod:`~ctc_helpers.stats.distributions`: the argument
  checks and the normal and chi-square tails they share.

Every function works on scalars, NumPy arrays and pandas Series (element-wise, positionally) and
never mutates its input. A group with no respondents (``n == 0``) or a missing count gives NaN in
the result instead of an error; impossible values (negative counts, ``x > n``, a proportion
outside 0..1) raise ``ValueError`` naming the argument, the value and its position. Each module
says which method it uses and why.
"""
