"""Reports, each a pure function of results files: the document model (Markdown and
HTML from the same blocks), the decision matrix and latency report, labels and colours, ranking
within noise, plots, the terminal summary, the design document's claims and the A/B page.
"""

# The kinds of file the reports write into their folder (Markdown, the HTML page, the plots):
# a results file of one of these kinds there would be overwritten by a report.
REPORT_SUFFIXES = (".md", ".html", ".png")
