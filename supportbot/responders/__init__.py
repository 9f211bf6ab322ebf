"""Responders: one protocol, a prompted (OpenAI-compatible) and a local (transformers + peft) one."""

from supportbot.responders.base import Responder

__all__ = ["Responder"]
