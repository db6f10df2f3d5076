"""POST /invoke with the handler forms of payload mode."""

import json
import unittest

from support import RuntimePool, make_envelope

pool = RuntimePool()


def tearDownModule():
    pool.close()


def frames_of(reply):
    return reply.json()["frames"]


class FrameTests(unittest.TestCase):
    def test_plain_return_is_one_frame(self):
        reply = pool.get("fixture_handlers.double").invoke(make_envelope({"value": 21}))
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.headers["Content-Type"], "application/json")
        self.assertEqual(frames_of(reply), [{
            "route": {"prev": ["a", "b"], "curr": "c", "next": ["d"]},
            "payload": {"value": 42},
        }])

    def test_route_shift_at_last_actor(self):
        envelope = make_envelope({"value": 1}, route={"prev": [], "curr": "b", "next": []})
        frame = frames_of(pool.get("fixture_handlers.double").invoke(envelope))[0]
        self.assertEqual(frame["route"], {"prev": ["b"], "curr": "", "next": []})

    def test_headers_preserved(self):
        envelope = make_envelope({"value": 1}, headers={"traceparent": "00-abc-01"})
        frame = frames_of(pool.get("fixture_handlers.double").invoke(envelope))[0]
        self.assertEqual(frame["headers"], {"traceparent": "00-abc-01"})

    def test_no_headers_key_without_headers(self):
        frame = frames_of(pool.get("fixture_handlers.double").invoke(make_envelope({"value": 1})))[0]
        self.assertNotIn("headers", frame)
        self.assertNotIn("status", frame)

    def test_status_passed_through(self):
        status = {"phase": "running", "attempt": 2}
        envelope = make_envelope({"value": 1}, status=status)
        frame = frames_of(pool.get("fixture_handlers.double").invoke(envelope))[0]
        self.assertEqual(frame["status"], status)

    def test_none_returns_204(self):
        reply = pool.get("fixture_handlers.returns_none").invoke(make_envelope({}))
        self.assertEqual(reply.status, 204)
        self.assertEqual(reply.body, b"")

    def test_returned_list_is_one_payload(self):
        frames = frames_of(pool.get("fixture_handlers.returns_list").invoke(make_envelope({})))
        self.assertEqual(len(frames), 1)
        self.assertEqual(frames[0]["payload"], [1, 2, 3])

    def test_async_function(self):
        reply = pool.get("fixture_handlers.async_double").invoke(make_envelope({"value": 5}))
        self.assertEqual(frames_of(reply)[0]["payload"], {"value": 10})

    def test_async_function_twice_reuses_loop(self):
        runtime = pool.get("fixture_handlers.async_double")
        for value in (1, 2):
            reply = runtime.invoke(make_envelope({"value": value}))
            self.assertEqual(frames_of(reply)[0]["payload"], {"value": value * 2})


class FanOutTests(unittest.TestCase):
    def test_generator_yields_frames(self):
        envelope = make_envelope({"items": ["x", "y", "z"]}, headers={"h": "1"})
        frames = frames_of(pool.get("fixture_handlers.fan_out").invoke(envelope))
        self.assertEqual([frame["payload"] for frame in frames],
                         [{"item": "x"}, {"item": "y"}, {"item": "z"}])
        for frame in frames:
            self.assertEqual(frame["route"]["curr"], "c")
            self.assertEqual(frame["headers"], {"h": "1"})

    def test_async_generator_yields_frames(self):
        frames = frames_of(pool.get("fixture_handlers.async_fan_out").invoke(
            make_envelope({"items": [1, 2]})))
        self.assertEqual([frame["payload"] for frame in frames], [{"item": 1}, {"item": 2}])

    def test_yielded_none_is_skipped(self):
        frames = frames_of(pool.get("fixture_handlers.yields_none_between").invoke(
            make_envelope({})))
        self.assertEqual([frame["payload"] for frame in frames], [{"kept": 1}])

    def test_returned_coroutine_is_awaited(self):
        reply = pool.get("fixture_handlers.returns_coroutine").invoke(make_envelope({"value": 2}))
        self.assertEqual(frames_of(reply)[0]["payload"], {"value": 4})

    def test_generator_without_yields_is_empty_list(self):
        reply = pool.get("fixture_handlers.yields_nothing").invoke(make_envelope({}))
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.json(), {"frames": []})


class PayloadFidelityTests(unittest.TestCase):
    def test_huge_integer_stays_exact(self):
        runtime = pool.get("fixture_handlers.add_one")
        body = b'{"id":"e","route":{"prev":[],"curr":"b","next":[]},' \
               b'"payload":{"n":123456789012345678901234567890}}'
        reply = runtime.invoke_raw(body)
        self.assertIn(b'"n":123456789012345678901234567891', reply.body)

    def test_float_and_unicode_round_trip(self):
        runtime = pool.get("fixture_handlers.echo")
        body = '{"id":"e","route":{"prev":[],"curr":"b","next":[]},' \
               '"payload":{"f":1.0,"neg":-0.0,"text":"h\u00e9llo \u2603 \U0001f600"}}'
        reply = runtime.invoke_raw(body.encode("utf-8"))
        self.assertIn('"f":1.0'.encode(), reply.body)
        self.assertIn('"neg":-0.0'.encode(), reply.body)
        self.assertEqual(frames_of(reply)[0]["payload"]["text"], "h\u00e9llo \u2603 \U0001f600")

    def test_lone_surrogate_stays_valid_json(self):
        runtime = pool.get("fixture_handlers.echo")
        body = b'{"id":"e","route":{"prev":[],"curr":"b","next":[]},"payload":"\\ud800"}'
        reply = runtime.invoke_raw(body)
        self.assertEqual(reply.status, 200)
        self.assertEqual(frames_of(reply)[0]["payload"], "\ud800")

    def test_keep_alive_serves_several_requests(self):
        runtime = pool.get("fixture_handlers.double")
        connection = runtime.connection()
        self.addCleanup(connection.close)
        for value in range(3):
            reply = runtime.invoke(make_envelope({"value": value}), connection=connection)
            self.assertEqual(frames_of(reply)[0]["payload"], {"value": value * 2})


class ParsingErrorTests(unittest.TestCase):
    def assert_parsing_error(self, body, message_part):
        reply = pool.get("fixture_handlers.echo").invoke_raw(body)
        self.assertEqual(reply.status, 400, reply.body)
        document = reply.json()
        self.assertEqual(document["error"], "msg_parsing_error")
        self.assertIn(message_part, document["details"]["message"])
        self.assertIn("type", document["details"])
        return document

    def test_malformed_json(self):
        self.assert_parsing_error(b'{"id": "e", ', "invalid JSON")

    def test_invalid_utf8(self):
        document = self.assert_parsing_error(b'{"id": "\xff\xfe"}', "utf-8")
        self.assertEqual(document["details"]["type"], "UnicodeDecodeError")

    def test_top_level_array(self):
        self.assert_parsing_error(b"[1, 2]", "expected an object, found array")

    def test_missing_id(self):
        self.assert_parsing_error(json.dumps({
            "route": {"prev": [], "curr": "b", "next": []}, "payload": 1}).encode(),
            "id must be a non-empty string, found missing")

    def test_route_next_wrong_type(self):
        envelope = make_envelope(1, route={"prev": [], "curr": "b", "next": "c"})
        self.assert_parsing_error(json.dumps(envelope).encode(),
                                  "route.next must be an array of strings, found string")

    def test_route_prev_with_number(self):
        envelope = make_envelope(1, route={"prev": [3], "curr": "b", "next": []})
        self.assert_parsing_error(json.dumps(envelope).encode(),
                                  "route.prev must be an array of strings, "
                                  "found an array containing number")

    def test_empty_curr(self):
        envelope = make_envelope(1, route={"prev": [], "curr": "", "next": []})
        self.assert_parsing_error(json.dumps(envelope).encode(),
                                  "route.curr must be a non-empty string, found empty string")

    def test_headers_not_object(self):
        envelope = make_envelope(1, headers=["x"])
        self.assert_parsing_error(json.dumps(envelope).encode(),
                                  "headers must be an object, found array")

    def test_unresolved_payload_ref(self):
        envelope = make_envelope(None)
        del envelope["payload"]
        envelope["payload_ref"] = {"uri": "s3://b/k", "bytes": 1, "sha256": "00"}
        self.assert_parsing_error(json.dumps(envelope).encode(), "payload_ref must be resolved")

    def test_missing_payload(self):
        envelope = make_envelope(None)
        del envelope["payload"]
        self.assert_parsing_error(json.dumps(envelope).encode(), "payload is missing")

    def test_nan_in_input_rejected(self):
        body = b'{"id":"e","route":{"prev":[],"curr":"b","next":[]},"payload":NaN}'
        self.assert_parsing_error(body, "NaN is not a JSON value")

    def test_null_payload_is_valid(self):
        reply = pool.get("fixture_handlers.echo").invoke(make_envelope(None))
        self.assertEqual(reply.status, 204)


if __name__ == "__main__":
    unittest.main()
