"""Processes the harness starts and stops: sqld (primary, replica, JWT auth), the WAN-emulating
proxy, the API-routes server and the helpers that start, watch and stop them (also on Ctrl-C).
"""
