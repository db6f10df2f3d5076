"""Asya runtime: serve one Python handler to the sidecar over HTTP on a Unix socket.

Run as ``python3 asya_runtime.py``. Standard library only, CPython 3.8 or newer.
The handler module is imported like any module, from PYTHONPATH or the working
directory; the user's code never imports anything from this file.

Environment:
  ASYA_HANDLER        required; ``module.function`` or ``module.Class.method``.
                      A class on the path is built once, with no arguments.
  ASYA_HANDLER_MODE   ``payload`` (default): the handler gets the payload.
                      ``envelope``: it gets and returns whole envelopes.
  ASYA_SOCKET_DIR     directory of the socket and ready file, default
                      ``/var/run/asya``.
  ASYA_LOG_LEVEL      ``debug``, ``info`` (default), ``warning`` or ``error``.
  ASYA_WORKERS        handler calls that may run at once, default 1. Values
                      above 1 run calls on a thread pool, so the handler must
                      be thread-safe.
  ASYA_MAX_BODY_BYTES largest accepted request body in bytes, default
                      1073741824 (1 GiB).

Protocol (HTTP/1.1 on ``{ASYA_SOCKET_DIR}/asya-runtime.sock``):
  POST /invoke  body = envelope with the payload resolved.
                200 {"frames": [{route, headers?, status?, payload}, ...]}
                with each route already shifted; 204 when the handler
                returns None; 400 msg_parsing_error; 500 processing_error.
  GET /healthz  200 {"status": "ready"}; 503 while stopping.

The file ``runtime-ready`` is written into the socket directory once the
socket listens. SIGTERM finishes the request in flight, removes the socket
and the ready file, and exits 0. Startup failures exit non-zero after one
JSON log line.
"""

import asyncio
import concurrent.futures
import copy
import datetime
import importlib
import inspect
import json
import math
import os
import re
import signal
import socket
import socketserver
import stat
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["Config", "ConfigError", "load_handler", "invoke", "main"]

SOCKET_NAME = "asya-runtime.sock"
READY_NAME = "runtime-ready"
DEFAULT_SOCKET_DIR = "/var/run/asya"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024 * 1024
# sockaddr_un.sun_path is 108 bytes on Linux, one of them the trailing NUL.
MAX_SOCKET_PATH_BYTES = 107
READ_CHUNK_BYTES = 1024 * 1024
LOG_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
HANDLER_MODES = ("payload", "envelope")
CONTROL_VERBS = ("GET", "SET", "DEL", "FLY")


# --- errors -----------------------------------------------------------------


class ConfigError(ValueError):
    """Invalid environment; the process exits 2."""

    __module__ = "asya_runtime"


class HandlerLoadError(Exception):
    """ASYA_HANDLER cannot be turned into a callable; the process exits 1."""

    __module__ = "asya_runtime"


class EnvelopeError(ValueError):
    """Request body that is not a valid envelope (400 msg_parsing_error)."""

    __module__ = "asya_runtime"


class RouteRuleError(ValueError):
    """Envelope-mode result that rewrote route.prev or route.curr."""

    __module__ = "asya_runtime"


class ControlError(ValueError):
    """Control tuple with an unknown verb, a malformed path or a refused path."""

    __module__ = "asya_runtime"


class ResultError(TypeError):
    """Handler result that cannot become a frame or cannot be encoded as JSON."""

    __module__ = "asya_runtime"


# --- configuration and logging ----------------------------------------------


class Config:
    """Runtime settings parsed once from the environment."""

    def __init__(self, handler, mode="payload", socket_dir=DEFAULT_SOCKET_DIR,
                 log_level="info", workers=1, max_body_bytes=DEFAULT_MAX_BODY_BYTES):
        self.handler = handler
        self.mode = mode
        self.socket_dir = socket_dir
        self.log_level = log_level
        self.workers = workers
        self.max_body_bytes = max_body_bytes

    @property
    def socket_path(self) -> str:
        return os.path.join(self.socket_dir, SOCKET_NAME)

    @property
    def ready_path(self) -> str:
        return os.path.join(self.socket_dir, READY_NAME)

    @classmethod
    def from_env(cls, environ) -> "Config":
        """Parse the ASYA_* variables; raise ConfigError naming the variable."""
        handler = environ.get("ASYA_HANDLER", "").strip()
        if not handler:
            raise ConfigError(
                "ASYA_HANDLER is not set: expected module.function or module.Class.method")
        mode = environ.get("ASYA_HANDLER_MODE", "").strip().lower() or "payload"
        if mode not in HANDLER_MODES:
            raise ConfigError(
                "invalid ASYA_HANDLER_MODE: expected payload or envelope, found %r" % mode)
        log_level = environ.get("ASYA_LOG_LEVEL", "").strip().lower() or "info"
        if log_level == "warn":
            log_level = "warning"
        if log_level not in LOG_LEVELS:
            raise ConfigError(
                "invalid ASYA_LOG_LEVEL: expected debug, info, warning or error, found %r"
                % log_level)
        return cls(
            handler=handler,
            mode=mode,
            socket_dir=environ.get("ASYA_SOCKET_DIR", "").strip() or DEFAULT_SOCKET_DIR,
            log_level=log_level,
            workers=_parse_positive_int(environ, "ASYA_WORKERS", 1),
            max_body_bytes=_parse_positive_int(
                environ, "ASYA_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        )


def _parse_positive_int(environ, name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError("invalid %s: expected a positive integer, found %r" % (name, text))
    return value


class JsonLogger:
    """Writes one JSON object per line with the keys ts, level, msg and the fields given."""

    def __init__(self, level: str = "info", stream=None):
        self.threshold = LOG_LEVELS[level]
        self.stream = stream if stream is not None else sys.stderr
        self.lock = threading.Lock()

    def enabled(self, level: str) -> bool:
        return LOG_LEVELS[level] >= self.threshold

    def log(self, level: str, msg: str, **fields) -> None:
        if not self.enabled(level):
            return
        now = datetime.datetime.now(datetime.timezone.utc)
        record = {"ts": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                  "level": level, "msg": msg}
        record.update(fields)
        line = json.dumps(record, default=repr, ensure_ascii=False)
        with self.lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass  # A closed stderr must not take the server down.

    def debug(self, msg: str, **fields) -> None:
        self.log("debug", msg, **fields)

    def info(self, msg: str, **fields) -> None:
        self.log("info", msg, **fields)

    def warning(self, msg: str, **fields) -> None:
        self.log("warning", msg, **fields)

    def error(self, msg: str, **fields) -> None:
        self.log("error", msg, **fields)


# --- handler loading --------------------------------------------------------

_HANDLER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def load_handler(spec: str) -> Callable:
    """Import ``module.function`` or ``module.Class.method`` and return the callable.

    The longest importable dotted prefix is the module and the rest are
    attributes. A class met on the way is built once with no arguments.
    Raises HandlerLoadError with the reason.
    """
    if not _HANDLER_PATTERN.match(spec):
        raise HandlerLoadError(
            "expected module.function or module.Class.method, found %r" % spec)
    parts = spec.split(".")
    module, consumed = _import_longest_prefix(parts)
    target = module
    for index in range(consumed, len(parts)):
        name = parts[index]
        if inspect.isclass(target):
            target = _instantiate(target)
        if not hasattr(target, name):
            raise HandlerLoadError("%s has no attribute %r" % (".".join(parts[:index]), name))
        target = getattr(target, name)
    if inspect.isclass(target):
        raise HandlerLoadError(
            "%s is a class; name one of its methods as module.Class.method" % spec)
    if not callable(target):
        raise HandlerLoadError(
            "%s is not callable: found %s" % (spec, type(target).__name__))
    return target


def _import_longest_prefix(parts: List[str]):
    for end in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:end])
        try:
            return importlib.import_module(name), end
        except ModuleNotFoundError as exc:
            # Only a missing candidate module means "try a shorter prefix";
            # a missing import inside the user's module is the real failure.
            if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
                raise HandlerLoadError("importing %s failed: %s" % (name, exc))
        except Exception as exc:
            raise HandlerLoadError("importing %s failed: %s: %s"
                                   % (name, qualified_name(type(exc)), exc))
    raise HandlerLoadError("module %r not found on sys.path: check PYTHONPATH and the "
                           "working directory" % parts[0])


def _instantiate(cls):
    try:
        inspect.signature(cls).bind()
    except TypeError as exc:
        raise HandlerLoadError(
            "class %s must be constructible with no arguments: %s" % (cls.__qualname__, exc))
    except ValueError:
        pass  # Some built-in classes have no signature; just try the call.
    try:
        return cls()
    except Exception as exc:
        raise HandlerLoadError("constructing %s() failed: %s: %s"
                               % (cls.__qualname__, qualified_name(type(exc)), exc))


def qualified_name(cls) -> str:
    """Return ``module.QualName``, or the bare name for built-ins, as tracebacks print it."""
    module = getattr(cls, "__module__", None)
    if module in (None, "builtins", "__main__"):
        return cls.__qualname__
    return "%s.%s" % (module, cls.__qualname__)


# --- envelope parsing -------------------------------------------------------


def _reject_constant(name: str):
    raise EnvelopeError("invalid JSON: %s is not a JSON value" % name)


def parse_envelope(text: str) -> Dict[str, Any]:
    """Parse and validate a request body decoded from UTF-8; raise EnvelopeError."""
    try:
        envelope = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise EnvelopeError("invalid JSON: %s" % exc)
    except RecursionError:
        raise EnvelopeError("invalid JSON: nesting is too deep")
    validate_envelope(envelope)
    return envelope


def _type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_string_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def validate_envelope(envelope) -> None:
    """Check the fields the runtime relies on; raise EnvelopeError naming the field."""
    if not isinstance(envelope, dict):
        raise EnvelopeError("invalid envelope: expected an object, found %s"
                            % _type_name(envelope))
    envelope_id = envelope.get("id")
    if not isinstance(envelope_id, str) or not envelope_id:
        raise EnvelopeError("invalid envelope: id must be a non-empty string, found %s"
                            % ("missing" if "id" not in envelope else _type_name(envelope_id)))
    if "parent_id" in envelope and not isinstance(envelope["parent_id"], str):
        raise EnvelopeError("invalid envelope: parent_id must be a string, found %s"
                            % _type_name(envelope["parent_id"]))
    _validate_route(envelope.get("route"), "route", require_curr=True)
    for field in ("headers", "status"):
        if field in envelope and not isinstance(envelope[field], dict):
            raise EnvelopeError("invalid envelope: %s must be an object, found %s"
                                % (field, _type_name(envelope[field])))
    if "payload_ref" in envelope:
        raise EnvelopeError(
            "invalid envelope: payload_ref must be resolved by the sidecar before /invoke")
    if "payload" not in envelope:
        raise EnvelopeError("invalid envelope: payload is missing")


def _validate_route(route, where: str, require_curr: bool, error=EnvelopeError) -> None:
    if not isinstance(route, dict):
        raise error("invalid envelope: %s must be an object, found %s"
                    % (where, "missing" if route is None else _type_name(route)))
    for key in ("prev", "next"):
        if not _is_string_list(route.get(key)):
            raise error("invalid envelope: %s.%s must be an array of strings, found %s"
                        % (where, key, _describe_list(route.get(key), key in route)))
    curr = route.get("curr")
    if not isinstance(curr, str) or (require_curr and not curr):
        raise error("invalid envelope: %s.curr must be a non-empty string, found %s"
                    % (where, "missing" if "curr" not in route else
                       ("empty string" if curr == "" else _type_name(curr))))


def _describe_list(value, present: bool) -> str:
    if not present:
        return "missing"
    if isinstance(value, list):
        bad = next(item for item in value if not isinstance(item, str))
        return "an array containing %s" % _type_name(bad)
    return _type_name(value)


# --- control tuple paths ----------------------------------------------------

# A path is a root ("." name) followed by ".name", ["quoted"], [index] or
# [start:stop] segments, for example .route.next[-1] or .headers["a.b"].
_SEGMENT = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"""
    r"""|\[(?P<quoted>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\]"""
    r"""|\[(?P<slice>-?\d*:-?\d*)\]"""
    r"""|\[(?P<index>-?\d+)\]""")

_READABLE = (("id",), ("route",), ("route", "prev"), ("route", "curr"), ("route", "next"),
             ("headers",), ("status",))
_WRITABLE = (("route", "next"), ("headers",))
# Roots whose members may be named too, for example .headers.traceparent.
_OPEN_ROOTS = (("headers",), ("status",))


class PathSlice:
    """A ``[start:stop]`` segment; either bound may be None."""

    def __init__(self, start: Optional[int], stop: Optional[int]):
        self.start = start
        self.stop = stop

    def as_slice(self) -> slice:
        return slice(self.start, self.stop)


def parse_path(path) -> List[Any]:
    """Split a control path into keys (str), indexes (int) and PathSlice segments."""
    if not isinstance(path, str) or not path.startswith("."):
        raise ControlError("malformed path %r: expected a string starting with '.', "
                           "for example '.route.next'" % (path,))
    segments = []  # type: List[Any]
    position = 0
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None:
            raise ControlError("malformed path %r at position %d: expected .name, "
                               "[\"key\"], [index] or [start:stop]" % (path, position))
        segments.append(_segment_value(match))
        position = match.end()
    return segments


def _segment_value(match):
    if match.group("name") is not None:
        return match.group("name")
    if match.group("quoted") is not None:
        quoted = match.group("quoted")
        if quoted.startswith("'"):
            quoted = '"' + quoted[1:-1].replace("\\'", "'").replace('"', '\\"') + '"'
        try:
            return json.loads(quoted)
        except ValueError:
            raise ControlError("malformed quoted key %s" % match.group("quoted"))
    if match.group("slice") is not None:
        start, stop = match.group("slice").split(":")
        return PathSlice(int(start) if start else None, int(stop) if stop else None)
    return int(match.group("index"))


def _key_prefix(segments: List[Any]) -> Tuple[str, ...]:
    keys = []
    for segment in segments:
        if not isinstance(segment, str):
            break
        keys.append(segment)
    return tuple(keys)


def _check_access(path: str, segments: List[Any], allowed, action: str) -> None:
    keys = _key_prefix(segments)
    for root in allowed:
        if keys[:len(root)] == root and (len(keys) == len(root) or root in _OPEN_ROOTS):
            if len(keys) < len(segments) and root in (("id",), ("route",), ("route", "curr")):
                break  # Indexing into a string or a whole route is not a path.
            return
    names = ", ".join("." + ".".join(root) for root in allowed)
    raise ControlError("path %r is not %s: %s paths are %s" % (path, action, action, names))


class EnvelopeState:
    """The envelope as control tuples see and change it during one call."""

    def __init__(self, envelope: Dict[str, Any]):
        self.data = {
            "id": envelope["id"],
            "route": copy.deepcopy(envelope["route"]),
        }
        if "headers" in envelope:
            self.data["headers"] = copy.deepcopy(envelope["headers"])
        if "status" in envelope:
            self.data["status"] = copy.deepcopy(envelope["status"])

    def get(self, path: str):
        segments = parse_path(path)
        _check_access(path, segments, _READABLE, "readable")
        value = self.data
        for depth, segment in enumerate(segments):
            value = _step(value, segment, path, depth)
            if value is None:
                return None
        return copy.deepcopy(value)

    def set(self, path: str, value) -> None:
        segments = parse_path(path)
        _check_access(path, segments, _WRITABLE, "writable")
        if segments[0] == "headers" and "headers" not in self.data:
            self.data["headers"] = {}
        parent = self._parent(segments, path, create=True)
        last = segments[-1]
        value = copy.deepcopy(value)
        if isinstance(last, PathSlice):
            if not isinstance(value, list):
                raise ControlError("SET %r needs an array value, found %s"
                                   % (path, _type_name(value)))
            parent[last.as_slice()] = value
        elif isinstance(last, int):
            _check_index(parent, last, path)
            parent[last] = value
        else:
            parent[last] = value
        self._check_types(path)

    def delete(self, path: str) -> None:
        segments = parse_path(path)
        _check_access(path, segments, _WRITABLE, "writable")
        if segments == ["route", "next"]:
            self.data["route"]["next"] = []
            return
        parent = self._parent(segments, path, create=False)
        if parent is None:
            return
        last = segments[-1]
        if isinstance(last, PathSlice):
            del parent[last.as_slice()]
        elif isinstance(last, int):
            _check_index(parent, last, path)
            del parent[last]
        else:
            parent.pop(last, None)

    def _parent(self, segments: List[Any], path: str, create: bool):
        value = self.data
        for depth, segment in enumerate(segments[:-1]):
            child = _step(value, segment, path, depth)
            if child is None:
                if not create or not isinstance(segment, str):
                    return None
                child = value[segment] = {}
            value = child
        last = segments[-1]
        if isinstance(last, str) and not isinstance(value, dict):
            raise ControlError("path %r: expected an object before %r, found %s"
                               % (path, last, _type_name(value)))
        if not isinstance(last, str) and not isinstance(value, list):
            raise ControlError("path %r: expected an array before the index, found %s"
                               % (path, _type_name(value)))
        return value

    def _check_types(self, path: str) -> None:
        if not _is_string_list(self.data["route"]["next"]):
            raise ControlError("SET %r: route.next must stay an array of strings, found %s"
                               % (path, _describe_list(self.data["route"]["next"], True)))
        if not isinstance(self.data.get("headers", {}), dict):
            raise ControlError("SET %r: headers must stay an object, found %s"
                               % (path, _type_name(self.data["headers"])))

    def frame_fields(self) -> Dict[str, Any]:
        """Return route, headers and status for a payload-mode frame."""
        return copy.deepcopy(self.data)


def _step(value, segment, path: str, depth: int):
    if isinstance(segment, str):
        if not isinstance(value, dict):
            raise ControlError("path %r: expected an object before %r, found %s"
                               % (path, segment, _type_name(value)))
        return value.get(segment)
    if not isinstance(value, list):
        raise ControlError("path %r: expected an array at segment %d, found %s"
                           % (path, depth + 1, _type_name(value)))
    if isinstance(segment, PathSlice):
        return value[segment.as_slice()]
    _check_index(value, segment, path)
    return value[segment]


def _check_index(items: list, index: int, path: str) -> None:
    if not -len(items) <= index < len(items):
        raise ControlError("path %r: index %d is out of range for an array of length %d"
                           % (path, index, len(items)))


# --- calling the handler ----------------------------------------------------


class CallOutcome:
    """Results of one handler call: payloads or envelopes, and FLY events."""

    def __init__(self):
        self.returned_none = False
        self.items = []  # type: List[Tuple[Any, Dict[str, Any]]]
        self.fly = []  # type: List[Any]


def is_control_tuple(item) -> bool:
    """Return True for a control tuple: a tuple whose first element is a string."""
    return isinstance(item, tuple) and len(item) > 0 and isinstance(item[0], str)


def apply_control(state: EnvelopeState, item: tuple, outcome: CallOutcome):
    """Run one control tuple and return the value sent back into the generator."""
    verb = item[0]
    arity = {"GET": 2, "SET": 3, "DEL": 2, "FLY": 2}.get(verb)
    if arity is None:
        raise ControlError("unknown control verb %r in %r: expected one of %s"
                           % (verb, item, ", ".join(CONTROL_VERBS)))
    if len(item) != arity:
        raise ControlError("control tuple %s takes %d elements, found %d: %r"
                           % (verb, arity, len(item), item))
    if verb == "GET":
        return state.get(item[1])
    if verb == "SET":
        state.set(item[1], item[2])
    elif verb == "DEL":
        state.delete(item[1])
    else:
        outcome.fly.append(copy.deepcopy(item[1]))
    return None


def call_handler(handler: Callable, argument, state: EnvelopeState,
                 loop: asyncio.AbstractEventLoop) -> CallOutcome:
    """Call the handler in any of its forms and collect what it returns or yields."""
    outcome = CallOutcome()
    result = handler(argument)
    if inspect.isawaitable(result):
        result = loop.run_until_complete(_await(result))
    if inspect.isgenerator(result):
        _drive(lambda reply: result.send(reply), StopIteration, result.close, state, outcome)
    elif inspect.isasyncgen(result):
        _drive(lambda reply: loop.run_until_complete(result.asend(reply)),
               StopAsyncIteration, lambda: loop.run_until_complete(result.aclose()),
               state, outcome)
    elif result is None:
        outcome.returned_none = True
    else:
        outcome.items.append((result, state.frame_fields()))
    return outcome


async def _await(awaitable):
    return await awaitable


def _drive(advance, stop_type, close, state: EnvelopeState, outcome: CallOutcome) -> None:
    reply = None
    try:
        while True:
            try:
                item = advance(reply)
            except stop_type:
                return
            reply = None
            if is_control_tuple(item):
                reply = apply_control(state, item, outcome)
            elif item is not None:
                # Route and headers are copied at the yield, so later SETs change
                # only later frames.
                outcome.items.append((item, state.frame_fields()))
    finally:
        close()


# --- frames -----------------------------------------------------------------


def shift_route(route: Dict[str, Any]) -> Dict[str, Any]:
    """Return the route after the current actor: prev + [curr], next[0] or "", next[1:]."""
    following = list(route["next"])
    return {
        "prev": list(route["prev"]) + [route["curr"]],
        "curr": following[0] if following else "",
        "next": following[1:],
    }


def payload_frame(payload, fields: Dict[str, Any]) -> Dict[str, Any]:
    frame = {"route": shift_route(fields["route"])}
    for key in ("headers", "status"):
        if key in fields:
            frame[key] = fields[key]
    frame["payload"] = payload
    return frame


def envelope_frame(result, original_route: Dict[str, Any]) -> Dict[str, Any]:
    """Check an envelope-mode result against the route rule and turn it into a frame."""
    if not isinstance(result, dict):
        raise ResultError("envelope mode handler must return or yield an envelope object, "
                          "found %s" % type(result).__name__)
    route = result.get("route")
    _validate_route(route, "route", require_curr=False, error=ResultError)
    for key in ("prev", "curr"):
        if route[key] != original_route[key]:
            raise RouteRuleError(
                "handler changed route.%s from %s to %s: a handler may replace route.next "
                "but not route.prev or route.curr"
                % (key, json.dumps(original_route[key]), json.dumps(route[key])))
    if "payload" not in result:
        raise ResultError("envelope mode handler returned an envelope without payload")
    fields = {"route": route}
    for key in ("headers", "status"):
        if key in result:
            if not isinstance(result[key], dict):
                raise ResultError("returned envelope: %s must be an object, found %s"
                                  % (key, _type_name(result[key])))
            fields[key] = result[key]
    return payload_frame(result["payload"], fields)


# --- JSON encoding of results -----------------------------------------------


def encode_json(value, where: str) -> bytes:
    """Encode strict JSON (no NaN or Infinity); raise ResultError naming the bad value."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        raise ResultError("handler result is not JSON serializable: %s"
                          % describe_unencodable(value, where))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates have no UTF-8 form, but \u escapes keep them valid JSON.
        return json.dumps(value, allow_nan=False, separators=(",", ":")).encode("ascii")


def describe_unencodable(value, where: str) -> str:
    """Find the first value that json cannot encode and name its place and type."""
    try:
        found = _find_unencodable(value, where, ())
    except RecursionError:
        return "%s is nested too deeply" % where
    return found or "%s could not be encoded" % where


def _find_unencodable(item, path: str, ancestors: Tuple[int, ...]) -> Optional[str]:
    if isinstance(item, float) and not math.isfinite(item):
        return "%s is the float %r, which JSON cannot represent" % (path, item)
    if item is None or isinstance(item, (str, int, float, bool)):
        return None
    if not isinstance(item, (dict, list, tuple)):
        return "%s has type %s" % (path, qualified_name(type(item)))
    if id(item) in ancestors:
        return "%s is a circular reference" % path
    ancestors = ancestors + (id(item),)
    if isinstance(item, dict):
        for key, child in item.items():
            if not (key is None or isinstance(key, (str, int, float, bool))):
                return "%s has a key of type %s" % (path, qualified_name(type(key)))
            found = _find_unencodable(child, "%s[%s]" % (path, json.dumps(str(key))), ancestors)
            if found:
                return found
        return None
    for index, child in enumerate(item):
        found = _find_unencodable(child, "%s[%d]" % (path, index), ancestors)
        if found:
            return found
    return None


# --- /invoke ----------------------------------------------------------------


class Response:
    """HTTP status and JSON body (None for no body) of one /invoke call."""

    def __init__(self, status: int, body: Optional[bytes] = None,
                 fly_sizes: Optional[List[int]] = None):
        self.status = status
        self.body = body
        self.fly_sizes = fly_sizes or []


def error_response(status: int, error: str, details: Dict[str, Any]) -> Response:
    body = {"error": error, "details": details}
    return Response(status, json.dumps(body, ensure_ascii=True, default=repr).encode("ascii"))


def parsing_error(exc: BaseException) -> Response:
    return error_response(400, "msg_parsing_error",
                          {"message": str(exc), "type": qualified_name(type(exc))})


def processing_error(exc: BaseException) -> Response:
    return error_response(500, "processing_error", {
        "message": str(exc),
        "type": qualified_name(type(exc)),
        "mro": [qualified_name(cls) for cls in type(exc).__mro__],
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    })


def invoke(handler: Callable, mode: str, envelope: Dict[str, Any],
           loop: asyncio.AbstractEventLoop) -> Response:
    """Run the handler on a validated envelope and build the /invoke response.

    Handler exceptions become a 500 processing_error response; they are not raised.
    """
    state = EnvelopeState(envelope)
    argument = envelope if mode == "envelope" else envelope["payload"]
    original_route = copy.deepcopy(envelope["route"])
    try:
        outcome = call_handler(handler, argument, state, loop)
        # NOTE: the /invoke response has no field for FLY events, so they are
        # only checked and counted here and logged by size, never forwarded.
        fly_sizes = [len(encode_json(event, "fly[%d]" % index))
                     for index, event in enumerate(outcome.fly)]
        if outcome.returned_none:
            return Response(204, fly_sizes=fly_sizes)
        return Response(200, encode_frames(outcome, mode, original_route), fly_sizes)
    except (Exception, SystemExit) as exc:
        # sys.exit() inside a handler is a failed call, not a request to stop.
        return processing_error(exc)


def encode_frames(outcome: CallOutcome, mode: str, original_route: Dict[str, Any]) -> bytes:
    # Frames are encoded one by one, so an error names the frame index and the
    # response is joined from bytes without holding a second copy of each tree.
    parts = [b'{"frames":[']
    for index, (item, fields) in enumerate(outcome.items):
        if mode == "envelope":
            frame = envelope_frame(item, original_route)
        else:
            frame = payload_frame(item, fields)
        if index:
            parts.append(b",")
        parts.append(encode_json(frame, "frames[%d]" % index))
    parts.append(b"]}")
    return b"".join(parts)


# --- HTTP over the Unix socket ----------------------------------------------


class BodyError(Exception):
    """Request body that cannot be read, with the HTTP status to send (None to send nothing)."""

    __module__ = "asya_runtime"

    def __init__(self, message: str, status: Optional[int]):
        Exception.__init__(self, message)
        self.status = status


class Worker:
    """Runs handler calls on a pool of ASYA_WORKERS threads, each with its own event loop.

    A loop per thread lives as long as the process, so async clients that a
    handler caches (sessions, connection pools) stay bound to a live loop.
    """

    def __init__(self, handler: Callable, mode: str, workers: int):
        self.handler = handler
        self.mode = mode
        self.local = threading.local()
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="asya-handler")

    def run(self, envelope: Dict[str, Any]) -> Response:
        return self.pool.submit(self._call, envelope).result()

    def _call(self, envelope: Dict[str, Any]) -> Response:
        loop = getattr(self.local, "loop", None)
        if loop is None:
            loop = self.local.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
        return invoke(self.handler, self.mode, envelope, loop)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class RuntimeServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Unix socket HTTP server: one thread per connection, handler calls on the Worker."""

    daemon_threads = True
    # With socketserver's default backlog of 5, connect() fails with EAGAIN
    # when a sidecar with a higher ASYA_CONCURRENCY opens more connections at
    # once. The kernel caps the value at net.core.somaxconn.
    request_queue_size = 128

    def __init__(self, path: str, config: Config, worker: Worker, logger: JsonLogger):
        self.config = config
        self.worker = worker
        self.logger = logger
        self.stopping = False
        self.in_flight = 0
        self.in_flight_changed = threading.Condition()
        socketserver.UnixStreamServer.__init__(self, path, RequestHandler)

    def begin_request(self) -> None:
        with self.in_flight_changed:
            self.in_flight += 1

    def end_request(self) -> None:
        with self.in_flight_changed:
            self.in_flight -= 1
            self.in_flight_changed.notify_all()

    def wait_idle(self) -> None:
        with self.in_flight_changed:
            while self.in_flight > 0:
                self.in_flight_changed.wait(1.0)

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            self.logger.warning("client disconnected", error=str(exc))
            return
        self.logger.error("connection failed", error=str(exc),
                          type=qualified_name(type(exc)) if exc else None,
                          traceback=traceback.format_exc())


class RequestHandler(BaseHTTPRequestHandler):
    """HTTP framing only: reads the request, passes the body on and writes the response."""

    protocol_version = "HTTP/1.1"
    server_version = "asya-runtime"
    sys_version = ""
    server = None  # type: RuntimeServer

    def do_GET(self) -> None:
        if self.path != "/healthz":
            self.send_json(404, {"error": "not_found", "details": {
                "message": "no route for GET %s: expected GET /healthz or POST /invoke"
                           % self.path}})
            return
        if self.server.stopping:
            self.send_json(503, {"status": "stopping"})
        else:
            self.send_json(200, {"status": "ready"})

    def do_POST(self) -> None:
        if self.path != "/invoke":
            self.close_connection = True
            self.send_json(404, {"error": "not_found", "details": {
                "message": "no route for POST %s: expected POST /invoke" % self.path}})
            return
        if self.server.stopping:
            self.close_connection = True
            self.send_json(503, {"error": "stopping", "details": {
                "message": "runtime is stopping and accepts no new envelopes"}})
            return
        self.server.begin_request()
        try:
            self.handle_invoke()
        finally:
            self.server.end_request()

    def handle_invoke(self) -> None:
        started = time.monotonic()
        try:
            # The raw body is a temporary here, so it is freed once decoded and
            # a large body is never held as bytes, text and objects at once.
            text = self.read_body().decode("utf-8")
            envelope = parse_envelope(text)
        except BodyError as exc:
            self.close_connection = True
            self.server.logger.warning("request body rejected", error=str(exc))
            if exc.status is not None:
                self.send_response_bytes(exc.status, parsing_error(exc).body)
            return
        except (EnvelopeError, UnicodeDecodeError) as exc:
            self.server.logger.warning("envelope rejected", error=str(exc),
                                       type=qualified_name(type(exc)))
            self.send_response_bytes(400, parsing_error(exc).body)
            return
        del text
        response = self.server.worker.run(envelope)
        self.log_invoke(envelope, response, started)
        self.send_response_bytes(response.status, response.body)

    def read_body(self) -> bytearray:
        """Read the request body by Content-Length or chunked transfer coding."""
        limit = self.server.config.max_body_bytes
        encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if encoding == "chunked":
            return self.read_chunked(limit)
        if encoding:
            raise BodyError("unsupported Transfer-Encoding %r: expected chunked or none"
                            % encoding, 400)
        text = self.headers.get("Content-Length")
        if text is None:
            raise BodyError("missing Content-Length: POST /invoke needs a body length", 411)
        if not text.strip().isdigit():
            raise BodyError("invalid Content-Length: expected a byte count, found %r"
                            % text, 400)
        length = int(text)
        if length > limit:
            raise BodyError("request body of %d bytes exceeds ASYA_MAX_BODY_BYTES (%d)"
                            % (length, limit), 413)
        return self.read_exact(length)

    def read_exact(self, length: int) -> bytearray:
        # One preallocated buffer filled in chunks keeps a large body to a
        # single copy in memory.
        buffer = bytearray(length)
        view = memoryview(buffer)
        received = 0
        while received < length:
            count = self.rfile.readinto(view[received:received + READ_CHUNK_BYTES])
            if not count:
                raise BodyError("client disconnected after %d of %d body bytes"
                                % (received, length), None)
            received += count
        view.release()
        return buffer

    def read_chunked(self, limit: int) -> bytearray:
        body = bytearray()
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise BodyError("client disconnected inside a chunked body", None)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BodyError("invalid chunk size %r" % size_text.decode("latin-1"), 400)
            if size == 0:
                self.skip_trailers()
                return body
            if len(body) + size > limit:
                raise BodyError("chunked request body exceeds ASYA_MAX_BODY_BYTES (%d)"
                                % limit, 413)
            body += self.read_exact(size)
            self.rfile.readline(1024)

    def skip_trailers(self) -> None:
        for _ in range(100):
            line = self.rfile.readline(8192)
            if line in (b"\r\n", b"\n", b""):
                return
        raise BodyError("too many trailer lines in a chunked body", 400)

    def log_invoke(self, envelope: Dict[str, Any], response: Response, started: float) -> None:
        fields = {"envelope_id": envelope["id"], "actor": envelope["route"]["curr"],
                  "status": response.status,
                  "duration_ms": round((time.monotonic() - started) * 1000, 3)}
        if response.status == 500:
            details = json.loads(response.body.decode("ascii"))["details"]
            self.server.logger.error("handler failed", error=details["message"],
                                     type=details["type"], traceback=details["traceback"],
                                     **fields)
        else:
            for size in response.fly_sizes:
                self.server.logger.info("fly event", event_bytes=size, **fields)
            self.server.logger.debug("envelope processed", fly_events=len(response.fly_sizes),
                                     **fields)

    def send_json(self, status: int, body: Dict[str, Any]) -> None:
        self.send_response_bytes(status, json.dumps(body).encode("utf-8"))

    def send_response_bytes(self, status: int, body: Optional[bytes]) -> None:
        if self.server.stopping:
            self.close_connection = True
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        if status != 204:
            # RFC 9110 forbids Content-Length on 204 responses.
            self.send_header("Content-Length", str(len(body) if body is not None else 0))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body is not None:
            self.wfile.write(body)

    def send_error(self, code: int, message: Optional[str] = None, explain=None) -> None:
        # BaseHTTPRequestHandler sends HTML for bad request lines, and no status
        # line at all when it could not read a version, but the sidecar expects
        # JSON everywhere.
        self.close_connection = True
        self.server.logger.warning("request rejected", status=code, error=message)
        if self.request_version == "HTTP/0.9":
            self.request_version = self.protocol_version
        self.send_json(code, {"error": "http_error", "details": {
            "message": message or self.responses.get(code, ("",))[0]}})

    def log_message(self, format: str, *args) -> None:
        self.server.logger.debug("http", detail=format % args)


# --- process lifecycle ------------------------------------------------------


def prepare_socket_path(config: Config) -> None:
    """Create the socket directory and clear a stale socket and ready file."""
    path = config.socket_path
    if len(path.encode("utf-8")) > MAX_SOCKET_PATH_BYTES:
        raise OSError("socket path %r is %d bytes, the limit is %d: use a shorter "
                      "ASYA_SOCKET_DIR" % (path, len(path.encode("utf-8")), MAX_SOCKET_PATH_BYTES))
    os.makedirs(config.socket_dir, exist_ok=True)
    _remove(config.ready_path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError("%s exists and is not a socket: remove it or choose another "
                      "ASYA_SOCKET_DIR" % path)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError, socket.timeout):
        os.unlink(path)  # No process listens, so a previous run left this socket.
        return
    finally:
        probe.close()
    raise OSError("another process is listening on %s" % path)


def write_ready_file(config: Config) -> None:
    temporary = config.ready_path + ".tmp"
    with open(temporary, "w") as handle:
        handle.write("%d\n" % os.getpid())
    os.replace(temporary, config.ready_path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def start_server(config: Config, handler: Callable, logger: JsonLogger) -> RuntimeServer:
    prepare_socket_path(config)
    worker = Worker(handler, config.mode, config.workers)
    server = RuntimeServer(config.socket_path, config, worker, logger)
    # The sidecar runs as another user; the emptyDir it shares with this
    # container is private to the pod, so the socket can be world-writable.
    os.chmod(config.socket_path, 0o666)
    write_ready_file(config)
    return server


def install_signal_handlers(server: RuntimeServer, logger: JsonLogger) -> None:
    def stop(signum, frame):
        if server.stopping:
            return
        server.stopping = True
        logger.info("stopping", signal=signal.Signals(signum).name)
        # shutdown() waits for serve_forever(), which runs on this thread.
        threading.Thread(target=server.shutdown, name="asya-shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def serve(server: RuntimeServer, config: Config, logger: JsonLogger) -> None:
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.stopping = True
        server.server_close()
        _remove(config.ready_path)
        _remove(config.socket_path)
        server.wait_idle()
        server.worker.close()


def main(environ=None) -> int:
    """Start the runtime from the environment; return the process exit code."""
    environ = os.environ if environ is None else environ
    try:
        config = Config.from_env(environ)
    except ConfigError as exc:
        JsonLogger().error("invalid configuration", handler=environ.get("ASYA_HANDLER"),
                           reason=str(exc))
        return 2
    logger = JsonLogger(config.log_level)

    # Started as a script, sys.path[0] is this file's folder; handler modules
    # live in the working directory, as with "python -m".
    if os.getcwd() not in sys.path:
        sys.path.insert(1, os.getcwd())
    try:
        handler = load_handler(config.handler)
    except HandlerLoadError as exc:
        logger.error("failed to load handler", handler=config.handler, reason=str(exc))
        return 1
    try:
        server = start_server(config, handler, logger)
    except OSError as exc:
        logger.error("failed to listen", handler=config.handler,
                     socket=config.socket_path, reason=str(exc))
        return 1

    install_signal_handlers(server, logger)
    logger.info("runtime started", handler=config.handler, mode=config.mode,
                socket=config.socket_path, workers=config.workers, pid=os.getpid(),
                python=sys.version.split()[0])
    serve(server, config, logger)
    logger.info("runtime stopped", handler=config.handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
