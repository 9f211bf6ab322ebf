"""The redactor lives in ``supportbot.redaction`` (the bot needs it too, and supportbot never imports
trainer); this keeps ``from trainer.redaction import Redactor, redact`` working."""

from supportbot.redaction import MARKERS, Redactor, is_card_number, redact

__all__ = ["MARKERS", "Redactor", "is_card_number", "redact"]
