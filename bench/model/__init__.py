"""The results model and its statistics: the versioned results file as typed records (load,
validate, write, the one (backend, op) index; `record` is the machinery, `schema_doc` writes
docs/results-schema.md from it), percentiles and their intervals, the ORM overhead ratios,
pytest-benchmark JSON read as results, and the scrubbing that keeps secrets out of everything
written.
"""
