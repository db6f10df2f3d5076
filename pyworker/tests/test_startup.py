"""Startup, handler loading, socket and ready file, configuration errors."""

import json
import os
import shutil
import socket
import unittest

from support import HERE, RuntimeProcess, make_envelope, short_temp_dir


class StartupFailureTests(unittest.TestCase):
    def run_failing(self, handler, **kwargs):
        runtime = RuntimeProcess(handler, **kwargs)
        self.addCleanup(runtime.cleanup)
        code = runtime.run_to_exit()
        records = runtime.log_records()
        self.assertFalse(os.path.exists(runtime.ready_path))
        return code, records

    def assert_one_error_line(self, records, handler, reason_part):
        errors = [record for record in records if record["level"] == "error"]
        self.assertEqual(len(errors), 1, records)
        self.assertEqual(errors[0]["handler"], handler)
        self.assertIn(reason_part, errors[0]["reason"])

    def test_missing_module_exits_non_zero(self):
        code, records = self.run_failing("no_such_module.handle")
        self.assertEqual(code, 1)
        self.assert_one_error_line(records, "no_such_module.handle", "no_such_module")

    def test_missing_attribute_names_it(self):
        code, records = self.run_failing("fixture_handlers.no_such_function")
        self.assertEqual(code, 1)
        self.assert_one_error_line(records, "fixture_handlers.no_such_function",
                                   "no attribute 'no_such_function'")

    def test_not_callable_is_rejected(self):
        code, records = self.run_failing("fixture_handlers.NOT_CALLABLE")
        self.assertEqual(code, 1)
        self.assert_one_error_line(records, "fixture_handlers.NOT_CALLABLE", "not callable")

    def test_class_with_constructor_arguments_is_rejected(self):
        code, records = self.run_failing("fixture_handlers.NeedsModel.handle")
        self.assertEqual(code, 1)
        self.assert_one_error_line(records, "fixture_handlers.NeedsModel.handle",
                                   "constructible with no arguments")

    def test_class_without_method_is_rejected(self):
        code, records = self.run_failing("fixture_handlers.Counter")
        self.assertEqual(code, 1)
        self.assert_one_error_line(records, "fixture_handlers.Counter", "is a class")

    def test_import_error_inside_module_names_dependency(self):
        code, records = self.run_failing("broken_import.handle")
        self.assertEqual(code, 1)
        self.assert_one_error_line(records, "broken_import.handle", "asya_missing_dependency")

    def test_malformed_handler_string(self):
        code, records = self.run_failing("no-dots-here")
        self.assertEqual(code, 1)
        self.assert_one_error_line(records, "no-dots-here", "module.function")

    def test_missing_handler_variable_exits_2(self):
        code, records = self.run_failing(None)
        self.assertEqual(code, 2)
        self.assertIn("ASYA_HANDLER is not set", records[0]["reason"])

    def test_invalid_mode_exits_2(self):
        code, records = self.run_failing("fixture_handlers.echo", mode="stream")
        self.assertEqual(code, 2)
        self.assertIn("expected payload or envelope, found 'stream'", records[0]["reason"])

    def test_invalid_workers_exits_2(self):
        code, records = self.run_failing("fixture_handlers.echo", env={"ASYA_WORKERS": "0"})
        self.assertEqual(code, 2)
        self.assertIn("ASYA_WORKERS", records[0]["reason"])

    def test_too_long_socket_path_is_rejected(self):
        base = short_temp_dir()
        self.addCleanup(shutil.rmtree, base, True)
        long_dir = os.path.join(base, "d" * 100)
        code, records = self.run_failing("fixture_handlers.echo", socket_dir=long_dir)
        self.assertEqual(code, 1)
        self.assert_one_error_line(records, "fixture_handlers.echo", "the limit is 107")

    def test_live_socket_is_not_taken_over(self):
        first = RuntimeProcess("fixture_handlers.echo").start_ready()
        self.addCleanup(first.cleanup)
        second = RuntimeProcess("fixture_handlers.echo", socket_dir=first.dir)
        self.addCleanup(second.cleanup)
        self.assertEqual(second.run_to_exit(), 1)
        self.assertIn("another process is listening", second.log_text())
        self.assertEqual(first.request("GET", "/healthz").status, 200)


class StartupTests(unittest.TestCase):
    def start(self, handler="fixture_handlers.echo", **kwargs):
        runtime = RuntimeProcess(handler, **kwargs).start_ready()
        self.addCleanup(runtime.cleanup)
        return runtime

    def test_ready_file_written_after_listen(self):
        runtime = self.start()
        self.assertTrue(os.path.exists(runtime.socket_path))
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(5)
        probe.connect(runtime.socket_path)
        probe.close()

    def test_healthz_reports_ready(self):
        reply = self.start().request("GET", "/healthz")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.json(), {"status": "ready"})

    def test_stale_socket_is_replaced(self):
        directory = short_temp_dir()
        self.addCleanup(shutil.rmtree, directory, True)
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(os.path.join(directory, "asya-runtime.sock"))
        stale.close()  # Bound but never listening, as after a crash.
        with open(os.path.join(directory, "runtime-ready"), "w") as handle:
            handle.write("old\n")
        runtime = self.start(socket_dir=directory)
        self.assertEqual(runtime.request("GET", "/healthz").status, 200)

    def test_regular_file_at_socket_path_is_rejected(self):
        directory = short_temp_dir()
        self.addCleanup(shutil.rmtree, directory, True)
        with open(os.path.join(directory, "asya-runtime.sock"), "w") as handle:
            handle.write("not a socket")
        runtime = RuntimeProcess("fixture_handlers.echo", socket_dir=directory)
        self.addCleanup(runtime.cleanup)
        self.assertEqual(runtime.run_to_exit(), 1)
        self.assertIn("is not a socket", runtime.log_text())

    def test_class_handler_built_once(self):
        runtime = self.start("fixture_handlers.Counter.handle")
        runtime.invoke(make_envelope({}))
        reply = runtime.invoke(make_envelope({}))
        self.assertEqual(reply.json()["frames"][0]["payload"], {"instances": 1, "calls": 2})

    def test_handler_found_in_working_directory(self):
        runtime = self.start("fixture_handlers.double", cwd=HERE, pythonpath=False)
        reply = runtime.invoke(make_envelope({"value": 4}))
        self.assertEqual(reply.json()["frames"][0]["payload"], {"value": 8})

    def test_logs_are_json_lines(self):
        runtime = self.start(env={"ASYA_LOG_LEVEL": "debug"})
        runtime.invoke(make_envelope({"secret": "do-not-log"}))
        runtime.stop()
        records = runtime.log_records()
        for record in records:
            self.assertEqual(set(record) >= {"ts", "level", "msg"}, True, record)
        started = [r for r in records if r["msg"] == "runtime started"]
        self.assertEqual(started[0]["handler"], "fixture_handlers.echo")
        processed = [r for r in records if r["msg"] == "envelope processed"]
        self.assertEqual(processed[0]["envelope_id"], "env-1")
        self.assertEqual(processed[0]["actor"], "b")
        self.assertIsInstance(processed[0]["duration_ms"], float)
        self.assertNotIn("do-not-log", runtime.log_text())

    def test_info_level_hides_per_envelope_lines(self):
        runtime = self.start()
        runtime.invoke(make_envelope({}))
        runtime.stop()
        messages = [record["msg"] for record in runtime.log_records()]
        self.assertNotIn("envelope processed", messages)
        self.assertIn("runtime stopped", messages)


if __name__ == "__main__":
    unittest.main()
