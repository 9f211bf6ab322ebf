"""One small exception hierarchy. Expected failures become clear messages to the person."""


class SupportbotError(Exception):
    """Base class for every error supportbot raises on purpose."""


class ConfigError(SupportbotError):
    """A setting is missing or malformed. The message names the variable and what to set."""


class InvalidQuestion(SupportbotError):
    """The question cannot be answered as asked (empty, too long)."""


class ResponderError(SupportbotError):
    """A responder could not produce an answer."""


class ResponderTimeout(ResponderError):
    """A responder did not answer in time."""


class ModelNotFound(SupportbotError):
    """A configured local model directory or the bundled GGUF is missing."""
