"""What a backend can do beyond latency, measured: the capability probes (cross-device
from a network namespace, auth, process crash, concurrent writers, backup), the preflight
checks that refuse bad targets before a run, and the emulation check.
"""
