"""Fixture module whose import fails on a missing dependency."""

import asya_missing_dependency  # noqa: F401


def handle(payload):
    return payload
