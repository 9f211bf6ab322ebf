"""The trainer: dataset building and curation, training backends, evaluation, adapter registry.

Imports only ``supportbot`` (the core); the bot never imports this package.
"""
