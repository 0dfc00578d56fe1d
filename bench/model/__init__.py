"""The results model and its statistics: the versioned results file (load, validate,
write), percentiles and their intervals, the ORM overhead ratios, pytest-benchmark JSON read
as results, and the scrubbing that keeps secrets out of everything written.
"""
