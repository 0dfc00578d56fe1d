"""The measurement core: the workload and its stationary plan, the one timing loop
(closed loop, open loop, concurrent workers), the coordinator that interleaves worker
processes (also base and head for `ab`), cold starts, sweeps, injected delays, Locust swarms
and the no-acknowledged-write-lost check. Everything a number is measured with lives here.
"""
