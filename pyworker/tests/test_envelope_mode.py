"""ASYA_HANDLER_MODE=envelope: whole envelopes in and out, with the route rule enforced."""

import unittest

from support import RuntimePool, make_envelope

pool = RuntimePool()


def tearDownModule():
    pool.close()


def invoke_action(action, **fields):
    runtime = pool.get("fixture_handlers.envelope_action", mode="envelope")
    return runtime.invoke(make_envelope({"action": action}, **fields))


class EnvelopeModeTests(unittest.TestCase):
    def test_echo_is_shifted(self):
        reply = pool.get("fixture_handlers.envelope_echo", mode="envelope").invoke(
            make_envelope({"k": 1}, headers={"h": "v"}, status={"phase": "running"}))
        self.assertEqual(reply.json()["frames"], [{
            "route": {"prev": ["a", "b"], "curr": "c", "next": ["d"]},
            "headers": {"h": "v"},
            "status": {"phase": "running"},
            "payload": {"k": 1},
        }])

    def test_handler_may_replace_next(self):
        frame = invoke_action("set_next").json()["frames"][0]
        self.assertEqual(frame["route"], {"prev": ["a", "b"], "curr": "z1", "next": ["z2"]})

    def test_handler_may_add_headers(self):
        frame = invoke_action("add_header").json()["frames"][0]
        self.assertEqual(frame["headers"], {"added": "1"})

    def test_changed_curr_is_refused(self):
        reply = invoke_action("change_curr")
        self.assertEqual(reply.status, 500)
        details = reply.json()["details"]
        self.assertEqual(details["type"], "asya_runtime.RouteRuleError")
        self.assertIn('route.curr from "b" to "somebody-else"', details["message"])

    def test_changed_prev_is_refused(self):
        details = invoke_action("change_prev").json()["details"]
        self.assertIn('route.prev from ["a"] to []', details["message"])
        self.assertIn("may replace route.next", details["message"])

    def test_non_envelope_result_is_refused(self):
        details = invoke_action("not_dict").json()["details"]
        self.assertIn("must return or yield an envelope object, found list", details["message"])

    def test_result_without_payload_is_refused(self):
        details = invoke_action("drop_payload").json()["details"]
        self.assertIn("without payload", details["message"])

    def test_none_returns_204(self):
        self.assertEqual(invoke_action("none").status, 204)

    def test_generator_fans_out_envelopes(self):
        reply = pool.get("fixture_handlers.envelope_fan_out", mode="envelope").invoke(
            make_envelope({}))
        frames = reply.json()["frames"]
        self.assertEqual([frame["payload"] for frame in frames],
                         [{"index": 0}, {"index": 1}, {"index": 2}])
        self.assertEqual(frames[2]["route"]["curr"], "c")


if __name__ == "__main__":
    unittest.main()
