"""Reports, each a pure function of results files: the document model (Markdown and
HTML from the same blocks), the decision matrix and latency report, labels and colours, ranking
within noise, plots, the terminal summary, the design document's claims and the A/B page.
"""
