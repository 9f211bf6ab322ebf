"""trainer.redaction is the core redactor, re-exported: the dataset builder's ``Redactor()`` keeps
its defaults. The redactor's own tests are tests/test_redaction.py and test_redaction_properties.py."""

from supportbot import redaction as core
from trainer.redaction import Redactor, redact


def test_the_trainer_imports_the_core_redactor_with_its_defaults():
    assert (Redactor, redact) == (core.Redactor, core.redact)
    redactor = Redactor()
    assert redactor.phone_region == "US"
    text = "card 4111 1111 1111 1111 12/25, call (415) 555-2671 or mail jane@example.com"
    assert redactor.redact(text) == "card [CARD] 12/25, call [PHONE] or mail [EMAIL]"
    assert dict(redactor.counts) == {"card": 1, "phone": 1, "email": 1}
