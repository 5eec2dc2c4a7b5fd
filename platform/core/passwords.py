"""Password policy beyond Django's validators: the mix of character kinds China's graded-protection rules
(等保 2.0) ask of government systems — at least three of upper case, lower case, digits and symbols."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

KINDS = (str.isupper, str.islower, str.isdigit, lambda char: not char.isalnum())


class CharacterKindsValidator:
    def __init__(self, min_kinds: int = 3):
        self.min_kinds = min_kinds

    def validate(self, password: str, user=None) -> None:
        found = sum(1 for kind in KINDS if any(kind(char) for char in password))
        if found < self.min_kinds:
            raise ValidationError(self.get_help_text(), code="password_too_uniform")

    def get_help_text(self) -> str:
        return _(
            "Your password must mix at least %(n)d of: upper-case letters, lower-case letters, digits, symbols."
        ) % {"n": self.min_kinds}
