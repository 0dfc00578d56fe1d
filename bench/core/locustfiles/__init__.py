"""Locust files run by `storebench swarm` (given to Locust by path, not imported by storebench)."""
