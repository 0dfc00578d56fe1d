"""storebench: benchmark SQLite-family persistence backends on a chat app's conversation store."""

__version__ = "0.1.0"
