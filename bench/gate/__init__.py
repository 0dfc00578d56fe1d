"""The regression gates: `check` compares two results files; `ab` measures base and head side
by side and decides regression, no regression or inconclusive from process pairs.
"""
