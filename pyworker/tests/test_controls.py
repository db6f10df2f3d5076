"""Control tuples GET, SET, DEL and FLY yielded by generator handlers."""

import unittest

from support import RuntimePool, RuntimeProcess, make_envelope

pool = RuntimePool()


def tearDownModule():
    pool.close()


def run_script(ops, **fields):
    """Invoke fixture_handlers.script, which yields each op and then its replies."""
    return pool.get("fixture_handlers.script").invoke(make_envelope({"ops": ops}, **fields))


def only_frame(test, reply):
    test.assertEqual(reply.status, 200, reply.body)
    frames = reply.json()["frames"]
    test.assertEqual(len(frames), 1)
    return frames[0]


class GetTests(unittest.TestCase):
    def test_get_id_and_route(self):
        frame = only_frame(self, run_script([
            ["GET", ".id"], ["GET", ".route.prev"], ["GET", ".route.curr"],
            ["GET", ".route.next"], ["GET", ".route"]]))
        self.assertEqual(frame["payload"]["replies"], [
            "env-1", ["a"], "b", ["c", "d"], {"prev": ["a"], "curr": "b", "next": ["c", "d"]}])

    def test_get_negative_index(self):
        frame = only_frame(self, run_script([["GET", ".route.next[-1]"]]))
        self.assertEqual(frame["payload"]["replies"], ["d"])

    def test_get_header_and_missing_header(self):
        frame = only_frame(self, run_script(
            [["GET", ".headers.trace"], ["GET", ".headers.absent"]], headers={"trace": "t1"}))
        self.assertEqual(frame["payload"]["replies"], ["t1", None])

    def test_get_status(self):
        frame = only_frame(self, run_script([["GET", ".status.phase"]],
                                            status={"phase": "running"}))
        self.assertEqual(frame["payload"]["replies"], ["running"])

    def test_get_returns_copy(self):
        reply = pool.get("fixture_handlers.get_copy").invoke(
            make_envelope({}, headers={"a": "1"}))
        frame = only_frame(self, reply)
        self.assertEqual(frame["payload"]["seen"], {"a": "1", "mutated": "yes"})
        self.assertEqual(frame["headers"], {"a": "1"})


class SetAndDeleteTests(unittest.TestCase):
    def test_set_next_replaces_route(self):
        frame = only_frame(self, run_script([["SET", ".route.next", ["x", "y"]]]))
        self.assertEqual(frame["route"], {"prev": ["a", "b"], "curr": "x", "next": ["y"]})

    def test_set_prepend_slice(self):
        frame = only_frame(self, run_script([["SET", ".route.next[:0]", ["first"]]]))
        self.assertEqual(frame["route"], {"prev": ["a", "b"], "curr": "first", "next": ["c", "d"]})

    def test_set_index(self):
        frame = only_frame(self, run_script([["SET", ".route.next[-1]", "last"]]))
        self.assertEqual(frame["route"]["next"], ["last"])

    def test_set_quoted_header_key(self):
        frame = only_frame(self, run_script([["SET", '.headers["a.b"]', "v"],
                                             ["GET", ".headers['a.b']"]]))
        self.assertEqual(frame["headers"], {"a.b": "v"})
        self.assertEqual(frame["payload"]["replies"], [None, "v"])

    def test_set_header_creates_headers(self):
        frame = only_frame(self, run_script([["SET", ".headers.x-trace-id", "abc"]]))
        self.assertEqual(frame["headers"], {"x-trace-id": "abc"})

    def test_del_header(self):
        frame = only_frame(self, run_script([["DEL", ".headers.a"]], headers={"a": "1", "b": "2"}))
        self.assertEqual(frame["headers"], {"b": "2"})

    def test_del_missing_header_is_no_op(self):
        frame = only_frame(self, run_script([["DEL", ".headers.absent"]]))
        self.assertNotIn("headers", frame)

    def test_del_whole_headers(self):
        frame = only_frame(self, run_script([["DEL", ".headers"]], headers={"a": "1"}))
        self.assertNotIn("headers", frame)

    def test_del_next_element(self):
        frame = only_frame(self, run_script([["DEL", ".route.next[0]"]]))
        self.assertEqual(frame["route"], {"prev": ["a", "b"], "curr": "d", "next": []})

    def test_del_next_ends_route(self):
        frame = only_frame(self, run_script([["DEL", ".route.next"]]))
        self.assertEqual(frame["route"], {"prev": ["a", "b"], "curr": "", "next": []})


class FlyTests(unittest.TestCase):
    def test_fly_events_logged_not_returned(self):
        runtime = RuntimeProcess("fixture_handlers.fly_then_result").start_ready()
        self.addCleanup(runtime.cleanup)
        reply = runtime.invoke(make_envelope({}))
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.json(), {"frames": [{
            "route": {"prev": ["a", "b"], "curr": "c", "next": ["d"]},
            "payload": {"done": True}}]})
        runtime.stop()
        events = [r for r in runtime.log_records() if r["msg"] == "fly event"]
        self.assertEqual([event["event_bytes"] for event in events], [16, 16])
        self.assertEqual(events[0]["envelope_id"], "env-1")
        self.assertNotIn("progress", runtime.log_text())

    def test_unencodable_fly_event_is_processing_error(self):
        reply = pool.get("fixture_handlers.fly_unencodable").invoke(make_envelope({}))
        self.assertEqual(reply.status, 500)
        self.assertIn('fly[0]["at"] has type set', reply.json()["details"]["message"])


class RefusedControlTests(unittest.TestCase):
    def assert_refused(self, ops, message_part):
        reply = run_script(ops)
        self.assertEqual(reply.status, 500, reply.body)
        details = reply.json()["details"]
        self.assertEqual(details["type"], "asya_runtime.ControlError")
        self.assertIn(message_part, details["message"])

    def test_set_prev_refused(self):
        self.assert_refused([["SET", ".route.prev", []]], "path '.route.prev' is not writable")

    def test_set_curr_refused(self):
        self.assert_refused([["SET", ".route.curr", "x"]], "path '.route.curr' is not writable")

    def test_set_id_refused(self):
        self.assert_refused([["SET", ".id", "other"]], "path '.id' is not writable")

    def test_set_status_refused(self):
        self.assert_refused([["SET", ".status.phase", "x"]], "'.status.phase' is not writable")

    def test_get_payload_refused(self):
        self.assert_refused([["GET", ".payload"]], "path '.payload' is not readable")

    def test_unknown_verb_quoted(self):
        self.assert_refused([["PUT", ".headers.a", 1]], "unknown control verb 'PUT'")

    def test_malformed_path_quoted(self):
        self.assert_refused([["GET", ".route..next"]], "malformed path '.route..next'")

    def test_path_without_dot_quoted(self):
        self.assert_refused([["GET", "route.next"]], "malformed path 'route.next'")

    def test_wrong_arity(self):
        self.assert_refused([["SET", ".headers.a"]], "SET takes 3 elements, found 2")

    def test_next_must_stay_strings(self):
        self.assert_refused([["SET", ".route.next", ["x", 5]]],
                            "route.next must stay an array of strings")

    def test_headers_must_stay_object(self):
        self.assert_refused([["SET", ".headers", "text"]], "headers must stay an object")

    def test_malformed_quoted_key(self):
        self.assert_refused([["GET", '.headers["bad\\q"]']], "malformed quoted key")

    def test_index_out_of_range(self):
        self.assert_refused([["GET", ".route.next[5]"]], "index 5 is out of range")


if __name__ == "__main__":
    unittest.main()
