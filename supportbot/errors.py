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


class InvalidCorrection(SupportbotError):
    """A suggested correction cannot be stored as given (empty, unchanged, too long)."""


class NotAllowed(SupportbotError):
    """The person may not do this (review without being a reviewer, admin commands)."""


class AlreadyReviewed(SupportbotError):
    """Someone else reviewed this correction first."""


class InvalidImport(SupportbotError):
    """An import or restore file cannot be used as given."""
