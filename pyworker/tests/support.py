"""Start the runtime as a real process on a Unix socket and talk HTTP to it."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = os.path.join(os.path.dirname(HERE), "asya_runtime.py")
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0
REQUEST_TIMEOUT_S = 60.0


def make_envelope(payload, **fields):
    envelope = {
        "id": "env-1",
        "route": {"prev": ["a"], "curr": "b", "next": ["c", "d"]},
        "payload": payload,
    }
    envelope.update(fields)
    return envelope


def short_temp_dir():
    # Unix socket paths are limited to 107 bytes, so stay near the root.
    return tempfile.mkdtemp(prefix="asya", dir="/tmp")


class UnixConnection(http.client.HTTPConnection):
    """HTTPConnection over a Unix socket."""

    def __init__(self, socket_path, timeout=REQUEST_TIMEOUT_S):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class RuntimeProcess:
    """One runtime subprocess in its own short temporary socket directory."""

    def __init__(self, handler, mode=None, env=None, cwd=None, pythonpath=True,
                 socket_dir=None):
        self.work_dir = short_temp_dir()
        self.dir = socket_dir or self.work_dir
        self.log_path = os.path.join(self.work_dir, "stderr.log")
        self.environment = dict(os.environ)
        for name in list(self.environment):
            if name.startswith("ASYA_"):
                del self.environment[name]
        self.environment["ASYA_SOCKET_DIR"] = self.dir
        self.environment["PYTHONDONTWRITEBYTECODE"] = "1"
        if handler is not None:
            self.environment["ASYA_HANDLER"] = handler
        if mode is not None:
            self.environment["ASYA_HANDLER_MODE"] = mode
        if pythonpath:
            self.environment["PYTHONPATH"] = HERE
        else:
            self.environment.pop("PYTHONPATH", None)
        self.environment.update(env or {})
        self.cwd = cwd or self.work_dir
        self.process = None
        self.log_file = None

    @property
    def socket_path(self):
        return os.path.join(self.dir, "asya-runtime.sock")

    @property
    def ready_path(self):
        return os.path.join(self.dir, "runtime-ready")

    def start(self):
        self.log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, RUNTIME], env=self.environment, cwd=self.cwd,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log_file)
        return self

    def start_ready(self):
        self.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.ready_file_pid() == self.process.pid:
                return self
            if self.process.poll() is not None:
                raise AssertionError("runtime exited with %s before it was ready:\n%s"
                                     % (self.process.returncode, self.log_text()))
            time.sleep(0.02)
        self.stop()
        raise AssertionError("runtime not ready within %ss:\n%s"
                             % (START_TIMEOUT_S, self.log_text()))

    def ready_file_pid(self):
        try:
            with open(self.ready_path) as handle:
                return int(handle.read().strip() or 0)
        except (OSError, ValueError):
            return None

    def run_to_exit(self):
        """Start, wait for the process to exit on its own, and return its exit code."""
        self.start()
        try:
            return self.process.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError("runtime kept running; expected a startup failure")

    def connection(self, timeout=REQUEST_TIMEOUT_S):
        return UnixConnection(self.socket_path, timeout=timeout)

    def request(self, method, path, body=None, headers=None, connection=None):
        own = connection is None
        connection = connection or self.connection()
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            if own:
                connection.close()

    def invoke(self, envelope, connection=None):
        body = json.dumps(envelope).encode("utf-8")
        return self.request("POST", "/invoke", body,
                            {"Content-Type": "application/json"}, connection)

    def invoke_raw(self, body):
        return self.request("POST", "/invoke", body, {"Content-Type": "application/json"})

    def signal(self, signum=signal.SIGTERM):
        self.process.send_signal(signum)

    def wait(self, timeout=STOP_TIMEOUT_S):
        return self.process.wait(timeout=timeout)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def log_text(self):
        if self.log_file is not None:
            self.log_file.flush()
        with open(self.log_path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")

    def log_records(self):
        return [json.loads(line) for line in self.log_text().splitlines() if line.strip()]


class RuntimePool:
    """Runtimes started once per handler and mode, stopped together at the end."""

    def __init__(self):
        self.runtimes = {}

    def get(self, handler, mode=None, **env):
        key = (handler, mode, tuple(sorted(env.items())))
        if key not in self.runtimes:
            self.runtimes[key] = RuntimeProcess(handler, mode=mode, env=env).start_ready()
        return self.runtimes[key]

    def close(self):
        for runtime in self.runtimes.values():
            runtime.cleanup()
        self.runtimes.clear()
