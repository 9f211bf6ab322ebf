"""supportbot core: settings, records, the Redis store, responders and cost.

Both the Slack surface (``bot``) and the trainer (``trainer``) import from here; nothing in
this package imports them, except the CLI, which is the composition root and does so lazily.
"""

__version__ = "0.1.0"
