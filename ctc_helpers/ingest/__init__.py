"""Reading and validating survey files, down the flow of one file.

- :mod:`~ctc_helpers.ingest.load`: ``load_survey`` (the entry point), ``ctc validate``/``ingest``.
- :mod:`~ctc_helpers.ingest.readers`: ``read_table``, one file as written (CSV, Excel, SPSS ...).
- :mod:`~ctc_helpers.ingest.delimited`: CSV and other delimited text: encoding, delimiter, header.
- :mod:`~ctc_helpers.ingest.columns`: the column limit and the column checks every reader shares.
- :mod:`~ctc_helpers.ingest.values`: raw values as the user wrote them (missing tokens, keys).
- :mod:`~ctc_helpers.ingest.rules`: column rules from ``data_schema/`` and the header check.
- :mod:`~ctc_helpers.ingest.parsing`: raw values to the compact types of the respondent table.
- :mod:`~ctc_helpers.ingest.schema`: the pandera schema and the problems it finds, in words.
- :mod:`~ctc_helpers.ingest.report`: the result, the quarantine, the ingest report, the files.
"""
