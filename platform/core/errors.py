"""The one error type for input a client must fix; every API answers it with a 400 naming the field."""


class InputError(ValueError):
    """Bad input: `field` names the parameter at fault, `detail` says what is wrong with it."""

    def __init__(self, field: str, detail: str):
        super().__init__(detail)
        self.field = field
        self.detail = detail
