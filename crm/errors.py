"""The base of every error a service raises.

Each carries one short sentence that can be shown in the admin or read to a
caller as it is ("That number is already on another customer's account.").
"""


class ServiceError(Exception):
    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code or type(self).__name__


class CustomerError(ServiceError):
    """A customer or vehicle write that cannot be done as asked."""
