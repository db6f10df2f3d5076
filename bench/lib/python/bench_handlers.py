"""Handlers of the benchmark actors. Plain functions, as a user would write them."""


def passthrough(payload):
    """Return the payload unchanged: the no-op handler of every benchmark."""
    return payload
