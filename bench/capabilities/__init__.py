"""What a backend can do beyond latency, measured: the capability probes (cross-device
from a network namespace, auth, crash durability, concurrent writers, backup), the preflight
checks that refuse bad targets before a run, and the emulation check.
"""
