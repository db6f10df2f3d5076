"""The runtime must stay within CPython 3.8 syntax and standard library."""

import ast
import os
import re
import sys
import unittest

from support import RUNTIME

# Names added to the standard library after 3.8 that are easy to reach for.
NEWER_APIS = [
    r"\.removeprefix\(", r"\.removesuffix\(", r"asyncio\.to_thread", r"functools\.cache\b",
    r"\bzoneinfo\b", r"\bgraphlib\b", r"\btomllib\b", r"\bExceptionGroup\b",
    r"\bTaskGroup\b", r"\bstr \| ", r"\bint \| ", r": list\[", r": dict\[", r"-> list\[",
    r"-> dict\[", r": tuple\[", r"-> tuple\[", r"\bmath\.lcm\b", r"\.is_relative_to\(",
    r"\bstrict=True\b",
]


class CompatibilityTests(unittest.TestCase):
    def setUp(self):
        with open(RUNTIME, encoding="utf-8") as handle:
            self.source = handle.read()

    def test_parses_as_python_3_8(self):
        ast.parse(self.source, feature_version=(3, 8))

    def test_no_apis_newer_than_3_8(self):
        for pattern in NEWER_APIS:
            self.assertIsNone(re.search(pattern, self.source), "found %s" % pattern)

    def test_imports_only_standard_library(self):
        modules = set()
        for node in ast.walk(ast.parse(self.source)):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                modules.add(node.module.split(".")[0])
        if hasattr(sys, "stdlib_module_names"):
            self.assertEqual(modules - set(sys.stdlib_module_names), set())
        for name in modules:
            self.assertNotIn("site-packages", getattr(__import__(name), "__file__", "") or "")

    def test_no_config_read_at_import(self):
        tree = ast.parse(self.source)
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.Expr)):
                self.assertNotIn("environ", ast.dump(node), ast.dump(node)[:200])


if __name__ == "__main__":
    unittest.main()
