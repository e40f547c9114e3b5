"""The style sheet of the HTML reports, on screen and on A4 paper.

Inlined in every report page by :mod:`ctc_helpers.batch.report` (reports load nothing from the
network). Text cells are left-aligned and number cells (class ``ctc-num``, set by
:func:`ctc_helpers.views.tables.html_table`) right-aligned; long text wraps so that a table fits
its column; "no clear difference" is a quiet grey mark (``ctc-quiet``). In print, charts and table
rows are never cut across pages, table headings repeat on every page and tables use a smaller
font to fit the width of A4. On a phone (up to 600 px) the page drops its side margins so that
charts get the width, and a ``<picture>`` shows the chart drawn narrow for phones
(:class:`ctc_helpers.plots.cache.ChartPicture`). Headings break only between words (never hyphenated), so a
heading reads the same on paper and in the PDF's text. The cell rules name ``table.ctc-table``
so that they outweigh JupyterLab's right-aligned cells of HTML outputs
(``:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td``).
"""

from __future__ import annotations

__all__ = ["REPORT_CSS"]

REPORT_CSS = """
main { max-width: 62rem; margin: 0 auto; padding: 1rem; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
.jp-RenderedHTMLCommon table.ctc-table { table-layout: auto; max-width: 100%; margin: 0.5em 0; }
.jp-RenderedHTMLCommon table.ctc-table th, .jp-RenderedHTMLCommon table.ctc-table td {
  text-align: left; vertical-align: top; white-space: normal; overflow-wrap: break-word;
  hyphens: auto; padding: 0.25em 0.4em; }
.jp-RenderedHTMLCommon table.ctc-table td:not(.ctc-num) { overflow-wrap: anywhere; }
.jp-RenderedHTMLCommon table.ctc-table th { hyphens: manual; }
.jp-RenderedHTMLCommon table.ctc-table thead th { text-align: left; }
.jp-RenderedHTMLCommon table.ctc-table td.ctc-num { text-align: right; white-space: nowrap;
  font-variant-numeric: tabular-nums; overflow-wrap: normal; }
.jp-RenderedHTMLCommon table.ctc-table th.ctc-num { text-align: right; }
.jp-RenderedHTMLCommon table.ctc-table .ctc-quiet { color: #767676; }
.jp-RenderedHTMLCommon table.ctc-table .ctc-reason { display: block; color: #444; font-size: 90%; }
.ctc-summary { border-left: 4px solid #0072B2; background: #F2F8FC; padding: 0.4em 1em;
  margin: 0.8em 0; }
.ctc-toc ol { columns: 2; margin: 0.3em 0; }
@media (max-width: 600px) {
  main { padding: 0.4rem; }
  body.jp-Notebook { margin: 0; padding: 0; }
  .jp-Cell { padding: 0; }
  .jp-OutputArea-output.jp-RenderedHTMLCommon { padding-right: 0; margin-left: 0; }
  .jp-RenderedHTMLCommon table.ctc-table { font-size: 80%; }
  .ctc-toc ol { columns: 1; }
}
@media print {
  @page { size: A4 landscape; }
  main { max-width: none; padding: 0; }
  body { font-size: 10pt; }
  .jp-Cell, .jp-OutputArea-output { break-inside: auto; }
  .jp-OutputArea-output img, figure, .ctc-summary { break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  .jp-RenderedHTMLCommon table.ctc-table { width: 100%; max-width: 100%; font-size: 7.5pt; }
  .jp-OutputArea-output, .jp-RenderedHTMLCommon { overflow: visible !important; }
  .jp-RenderedHTMLCommon table.ctc-table thead { display: table-header-group; }
  .jp-RenderedHTMLCommon table.ctc-table tr { break-inside: avoid; page-break-inside: avoid; }
  .jp-RenderedHTMLCommon table.ctc-table td.ctc-num { white-space: normal; }
  .ctc-toc ol { columns: 2; }
}
"""
