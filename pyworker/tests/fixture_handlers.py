"""Handlers the runtime tests serve; each covers one handler form or failure."""

import asyncio
import datetime
import sys
import threading
import time


def echo(payload):
    return payload


def double(payload):
    return {"value": payload["value"] * 2}


def returns_none(payload):
    return None


def returns_list(payload):
    return [1, 2, 3]


async def async_double(payload):
    await asyncio.sleep(0)
    return {"value": payload["value"] * 2}


def fan_out(payload):
    for item in payload["items"]:
        yield {"item": item}


async def async_fan_out(payload):
    for item in payload["items"]:
        await asyncio.sleep(0)
        yield {"item": item}


def yields_none_between(payload):
    yield None
    yield {"kept": 1}
    yield None


def returns_coroutine(payload):
    return async_double(payload)


def yields_nothing(payload):
    return
    yield  # The bare yield makes this a generator that yields nothing.


def script(payload):
    """Run payload["ops"] as control tuples, then yield what GET returned."""
    replies = []
    for op in payload["ops"]:
        reply = yield tuple(op)
        replies.append(reply)
    yield {"replies": replies}


def get_copy(payload):
    headers = yield ("GET", ".headers")
    headers["mutated"] = "yes"
    yield {"seen": headers}


def fly_then_result(payload):
    yield ("FLY", {"progress": 0.5})
    yield ("FLY", {"progress": 1.0})
    yield {"done": True}


def fly_unencodable(payload):
    yield ("FLY", {"at": {1, 2}})
    yield {"done": True}


def add_one(payload):
    return {"n": payload["n"] + 1}


def body_size(payload):
    return {"length": len(payload["data"])}


def fails(payload):
    raise ValueError("bad value %s" % payload.get("value"))


class QuotaError(KeyError):
    pass


def fails_custom(payload):
    raise QuotaError("quota exceeded")


def exits(payload):
    sys.exit(3)


def returns_bytes(payload):
    return {"blob": b"abc"}


def returns_set(payload):
    return {"tags": {1, 2}}


def returns_datetime(payload):
    return {"at": datetime.datetime(2024, 1, 1)}


def returns_nan(payload):
    return {"score": float("nan")}


def returns_infinity(payload):
    return [1.0, float("inf")]


def returns_circular(payload):
    data = {}
    data["self"] = data
    return data


def sleeps(payload):
    time.sleep(payload["seconds"])
    return {"slept": payload["seconds"]}


def announces_then_sleeps(payload):
    """Create the file payload["marker"] once the call runs, then sleep."""
    with open(payload["marker"], "w"):
        pass
    time.sleep(payload["seconds"])
    return {"slept": payload["seconds"]}


_active_lock = threading.Lock()
_active = {"now": 0, "max": 0}


def tracks_overlap(payload):
    with _active_lock:
        _active["now"] += 1
        _active["max"] = max(_active["max"], _active["now"])
    time.sleep(payload["seconds"])
    with _active_lock:
        _active["now"] -= 1
        return {"max_active": _active["max"]}


_barrier = threading.Barrier(2, timeout=10)


def waits_for_partner(payload):
    # Passes only when a second call runs at the same time.
    _barrier.wait()
    return {"met": True}


class Counter:
    created = 0

    def __init__(self):
        Counter.created += 1
        self.calls = 0

    def handle(self, payload):
        self.calls += 1
        return {"instances": Counter.created, "calls": self.calls}


class NeedsModel:
    def __init__(self, model):
        self.model = model

    def handle(self, payload):
        return payload


NOT_CALLABLE = 42


# Envelope mode


def envelope_echo(envelope):
    return envelope


def envelope_action(envelope):
    action = envelope["payload"]["action"]
    if action == "set_next":
        envelope["route"]["next"] = ["z1", "z2"]
    elif action == "change_curr":
        envelope["route"]["curr"] = "somebody-else"
    elif action == "change_prev":
        envelope["route"]["prev"] = []
    elif action == "not_dict":
        return ["not", "an", "envelope"]
    elif action == "none":
        return None
    elif action == "drop_payload":
        del envelope["payload"]
    elif action == "add_header":
        envelope.setdefault("headers", {})["added"] = "1"
    return envelope


def envelope_fan_out(envelope):
    for index in range(3):
        child = dict(envelope)
        child["payload"] = {"index": index}
        yield child
