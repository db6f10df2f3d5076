"""Handler failures and results that cannot be encoded: 500 processing_error."""

import json
import unittest

from support import RuntimePool, make_envelope

pool = RuntimePool()


def reject_constant(name):
    raise AssertionError("response contains %s, which is not JSON" % name)


def tearDownModule():
    pool.close()


class ProcessingErrorTests(unittest.TestCase):
    def invoke_failing(self, handler, payload=None):
        reply = pool.get(handler).invoke(make_envelope(payload if payload is not None else {}))
        self.assertEqual(reply.status, 500, reply.body)
        document = reply.json()
        self.assertEqual(document["error"], "processing_error")
        return document["details"]

    def test_exception_details(self):
        details = self.invoke_failing("fixture_handlers.fails", {"value": 7})
        self.assertEqual(details["message"], "bad value 7")
        self.assertEqual(details["type"], "ValueError")
        self.assertEqual(details["mro"], ["ValueError", "Exception", "BaseException", "object"])
        self.assertIn("fixture_handlers.py", details["traceback"])
        self.assertIn("raise ValueError", details["traceback"])

    def test_custom_exception_is_fully_qualified(self):
        details = self.invoke_failing("fixture_handlers.fails_custom")
        self.assertEqual(details["type"], "fixture_handlers.QuotaError")
        self.assertEqual(details["mro"][:3],
                         ["fixture_handlers.QuotaError", "KeyError", "LookupError"])

    def test_sys_exit_in_handler_is_processing_error(self):
        details = self.invoke_failing("fixture_handlers.exits")
        self.assertEqual(details["type"], "SystemExit")
        runtime = pool.get("fixture_handlers.exits")
        self.assertEqual(runtime.request("GET", "/healthz").status, 200)

    def test_server_survives_handler_error(self):
        runtime = pool.get("fixture_handlers.fails")
        for _ in range(2):
            self.assertEqual(runtime.invoke(make_envelope({"value": 1})).status, 500)
        self.assertEqual(runtime.request("GET", "/healthz").json(), {"status": "ready"})

    def test_bytes_result_names_type(self):
        details = self.invoke_failing("fixture_handlers.returns_bytes")
        self.assertIn('frames[0]["payload"]["blob"] has type bytes', details["message"])
        self.assertEqual(details["type"], "asya_runtime.ResultError")

    def test_set_result_names_type(self):
        details = self.invoke_failing("fixture_handlers.returns_set")
        self.assertIn("has type set", details["message"])

    def test_datetime_result_names_type(self):
        details = self.invoke_failing("fixture_handlers.returns_datetime")
        self.assertIn("has type datetime.datetime", details["message"])

    def test_nan_result_is_rejected(self):
        reply = pool.get("fixture_handlers.returns_nan").invoke(make_envelope({}))
        self.assertEqual(reply.status, 500)
        details = json.loads(reply.body.decode(), parse_constant=reject_constant)["details"]
        self.assertIn('["score"] is the float nan', details["message"])

    def test_infinity_result_is_rejected(self):
        details = self.invoke_failing("fixture_handlers.returns_infinity")
        self.assertIn('["payload"][1] is the float inf', details["message"])

    def test_circular_result_is_rejected(self):
        details = self.invoke_failing("fixture_handlers.returns_circular")
        self.assertIn("circular reference", details["message"])


if __name__ == "__main__":
    unittest.main()
