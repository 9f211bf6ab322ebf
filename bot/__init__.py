"""The Slack surface: Bolt wiring, listeners, Block Kit builders. Imports only ``supportbot``."""
