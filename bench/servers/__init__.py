"""Processes the harness starts and stops: sqld (primary, replica, JWT auth), the WAN-emulating
proxy, the API-routes server and the Next.js server, each a `ManagedServer` (managed.py: start
with a log, readiness, the log's last line in errors, stop, also on Ctrl-C), and the helpers
for child processes (processes.py). Backends ask for a running server here and are its clients.
"""
