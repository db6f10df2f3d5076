"""Large bodies, broken clients, HTTP framing, shutdown and worker threads."""

import json
import os
import signal
import socket
import threading
import time
import unittest

from support import RuntimePool, RuntimeProcess, make_envelope

pool = RuntimePool()


def tearDownModule():
    pool.close()


def raw_exchange(runtime, data, read=True):
    """Send raw bytes on a fresh connection and return everything read until close."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(runtime.socket_path)
    try:
        sock.sendall(data)
        if not read:
            return b""
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        sock.close()


def wait_for_file(path, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return False


def peak_memory_bytes(pid):
    """Return the peak resident set size of a Linux process (VmHWM)."""
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM line for process %d" % pid)


class BodyTests(unittest.TestCase):
    def test_200_megabyte_body(self):
        size = 200 * 1024 * 1024
        prefix = b'{"id":"big","route":{"prev":[],"curr":"b","next":[]},"payload":{"data":"'
        body = prefix + b"x" * size + b'"}}'
        runtime = RuntimeProcess("fixture_handlers.body_size").start_ready()
        self.addCleanup(runtime.cleanup)
        reply = runtime.invoke_raw(body)
        self.assertEqual(reply.status, 200, reply.body[:500])
        self.assertEqual(reply.json()["frames"][0]["payload"], {"length": size})
        # Bytes, decoded text and parsed objects are each about one body size;
        # at most two of them may be alive at once.
        self.assertLess(peak_memory_bytes(runtime.process.pid), 2.5 * size)

    def test_chunked_body(self):
        runtime = pool.get("fixture_handlers.double")
        body = json.dumps(make_envelope({"value": 3})).encode()
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                           for part in (body[:10], body[10:])) + b"0\r\n\r\n"
        answer = raw_exchange(runtime, b"POST /invoke HTTP/1.1\r\nHost: x\r\n"
                              b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        self.assertIn(b'"payload":{"value":6}', answer)

    def test_missing_content_length_is_411(self):
        runtime = pool.get("fixture_handlers.echo")
        answer = raw_exchange(runtime, b"POST /invoke HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 411"), answer[:200])
        self.assertIn(b"missing Content-Length", answer)

    def test_body_over_limit_is_413(self):
        runtime = pool.get("fixture_handlers.echo", ASYA_MAX_BODY_BYTES="100")
        reply = runtime.invoke(make_envelope({"data": "y" * 200}))
        self.assertEqual(reply.status, 413)
        self.assertIn("exceeds ASYA_MAX_BODY_BYTES (100)", reply.json()["details"]["message"])

    def test_unknown_path_is_404_json(self):
        reply = pool.get("fixture_handlers.echo").request("GET", "/metrics")
        self.assertEqual(reply.status, 404)
        self.assertEqual(reply.json()["error"], "not_found")

    def test_malformed_request_line_is_json(self):
        answer = raw_exchange(pool.get("fixture_handlers.echo"), b"NONSENSE\r\n\r\n")
        self.assertIn(b"400", answer.split(b"\r\n", 1)[0])
        self.assertIn(b'"error": "http_error"', answer)


class DisconnectTests(unittest.TestCase):
    def test_disconnect_mid_body_keeps_serving(self):
        runtime = pool.get("fixture_handlers.echo")
        raw_exchange(runtime, b"POST /invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                              b"\r\n{\"id\":", read=False)
        reply = runtime.invoke(make_envelope({"after": True}))
        self.assertEqual(reply.status, 200)

    def test_disconnect_before_response_keeps_serving(self):
        runtime = pool.get("fixture_handlers.sleeps")
        body = json.dumps(make_envelope({"seconds": 0.3})).encode()
        raw_exchange(runtime, b"POST /invoke HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body), read=False)
        reply = runtime.invoke(make_envelope({"seconds": 0}))
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.json()["frames"][0]["payload"], {"slept": 0})


class ShutdownTests(unittest.TestCase):
    def start(self, handler):
        runtime = RuntimeProcess(handler).start_ready()
        self.addCleanup(runtime.cleanup)
        return runtime

    def test_sigterm_when_idle_exits_zero(self):
        runtime = self.start("fixture_handlers.echo")
        runtime.signal(signal.SIGTERM)
        self.assertEqual(runtime.wait(), 0)
        self.assertFalse(os.path.exists(runtime.socket_path))
        self.assertFalse(os.path.exists(runtime.ready_path))

    def test_sigterm_finishes_request_in_flight(self):
        runtime = self.start("fixture_handlers.announces_then_sleeps")
        connection = runtime.connection()
        self.addCleanup(connection.close)
        marker = os.path.join(runtime.work_dir, "call-started")
        body = json.dumps(make_envelope({"seconds": 1.0, "marker": marker}))
        connection.request("POST", "/invoke", body=body)
        self.assertTrue(wait_for_file(marker), "handler never started")
        runtime.signal(signal.SIGTERM)
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(json.loads(response.read())["frames"][0]["payload"], {"slept": 1.0})
        self.assertEqual(runtime.wait(), 0)
        self.assertFalse(os.path.exists(runtime.socket_path))
        messages = [record["msg"] for record in runtime.log_records()]
        self.assertEqual(messages[-2:], ["stopping", "runtime stopped"])

    def test_healthz_503_while_stopping(self):
        runtime = self.start("fixture_handlers.announces_then_sleeps")
        busy = runtime.connection()
        probe = runtime.connection()
        self.addCleanup(busy.close)
        self.addCleanup(probe.close)
        marker = os.path.join(runtime.work_dir, "call-started")
        busy.request("POST", "/invoke", body=json.dumps(
            make_envelope({"seconds": 1.5, "marker": marker})))
        self.assertTrue(wait_for_file(marker), "handler never started")
        self.assertEqual(runtime.request("GET", "/healthz", connection=probe).status, 200)
        runtime.signal(signal.SIGTERM)
        statuses = []
        for _ in range(100):
            statuses.append(runtime.request("GET", "/healthz", connection=probe).status)
            if statuses[-1] != 200:
                break
            time.sleep(0.01)
        self.assertEqual(statuses[-1], 503)
        self.assertEqual(busy.getresponse().status, 200)
        self.assertEqual(runtime.wait(), 0)


class WorkerTests(unittest.TestCase):
    def invoke_concurrently(self, runtime, handler_payload, count=2):
        replies = [None] * count

        def call(index):
            replies[index] = runtime.invoke(make_envelope(handler_payload))

        threads = [threading.Thread(target=call, args=(index,)) for index in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return replies

    def test_one_call_at_a_time_by_default(self):
        runtime = pool.get("fixture_handlers.tracks_overlap")
        replies = self.invoke_concurrently(runtime, {"seconds": 0.2}, count=3)
        for reply in replies:
            self.assertEqual(reply.status, 200)
            self.assertEqual(reply.json()["frames"][0]["payload"], {"max_active": 1})

    def test_workers_run_calls_in_parallel(self):
        runtime = pool.get("fixture_handlers.waits_for_partner", ASYA_WORKERS="2")
        replies = self.invoke_concurrently(runtime, {}, count=2)
        for reply in replies:
            self.assertEqual(reply.status, 200, reply.body)
            self.assertEqual(reply.json()["frames"][0]["payload"], {"met": True})

    def test_healthz_answers_during_long_call(self):
        runtime = pool.get("fixture_handlers.announces_then_sleeps")
        connection = runtime.connection()
        self.addCleanup(connection.close)
        marker = os.path.join(runtime.work_dir, "long-call-started")
        connection.request("POST", "/invoke", body=json.dumps(
            make_envelope({"seconds": 0.5, "marker": marker})))
        self.assertTrue(wait_for_file(marker), "handler never started")
        self.assertEqual(runtime.request("GET", "/healthz").status, 200)
        self.assertEqual(connection.getresponse().status, 200)

if __name__ == "__main__":
    unittest.main()
