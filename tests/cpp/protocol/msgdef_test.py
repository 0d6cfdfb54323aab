#!/usr/bin/env python3
"""Checks of the .msg parser (cpp/src/protocol/gen/msgdef.py): accepted definitions and the
errors (with line numbers) for rejected ones. Run by ctest as protocol_msgdef_test."""
import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "cpp" / "src" / "protocol" / "gen"))
import msgdef  # noqa: E402

HEADER = "api Demo key=900 versions=0-5 flexible=3+\n"


def parse(body, header=HEADER):
    return msgdef.parse_text(header + body, "demo.msg")


def errors(body, header=HEADER):
    try:
        parse(body, header)
    except msgdef.MsgError as e:
        return [(line, message) for _, line, message in e.errors]
    raise AssertionError("expected errors")


class Accepts(unittest.TestCase):
    def test_full_example(self):
        api = parse(
            "request\n"
            "  TransactionalId: string v3+ nullable=v3+ entity=transactionalId  # comment\n"
            "  Topics: []Topic\n"
            "    Name: string\n"
            "    Partitions: []int32\n"
            "  Leader: LeaderAndEpoch v3+ tag=0\n"
            "    LeaderId: int32 default=-1\n"
            "  Hex: int32 default=0x7fffffff ignorable\n"
            "  Text: string default=\"a # b\"\n"
            "response\n"
            "  Topics: []Topic v1+\n"
            "  Same: LeaderAndEpoch v4+ nullable=v4+ default=null\n")
        self.assertEqual((api.name, api.key, api.min_version, api.max_version), ("Demo", 900, 0, 5))
        self.assertEqual(api.first_flexible_version, 3)
        req = api.request
        self.assertEqual(req.name, "DemoRequest")
        self.assertEqual([f.name for f in req.fields],
                         ["TransactionalId", "Topics", "Leader", "Hex", "Text"])
        self.assertEqual(str(req.fields[0].versions), "v3-5")
        self.assertEqual(req.fields[0].nullable, msgdef.Versions(3, 5))
        self.assertEqual(req.fields[0].attrs, {"entity": "transactionalId"})
        self.assertEqual(req.fields[2].tag, 0)
        self.assertEqual(req.fields[3].default, msgdef.Default("int", 0x7FFFFFFF))
        self.assertTrue(req.fields[3].ignorable)
        self.assertEqual(req.fields[4].default, msgdef.Default("string", "a # b"))
        topic = req.fields[1].type.struct
        self.assertEqual([f.name for f in topic.fields], ["Name", "Partitions"])
        # Reuse in the response refers to the request's struct.
        self.assertIs(api.response.fields[0].type.struct, topic)
        self.assertEqual(api.response.structs, [])
        self.assertEqual(api.response.fields[0].present, msgdef.Versions(1, 5))

    def test_flexible_none(self):
        api = parse("request\n  A: int8\nresponse\n",
                    header="api Demo key=1 versions=0-2 flexible=none\n")
        self.assertIsNone(api.flexible)
        self.assertIsNone(api.first_flexible_version)

    def test_snake_case(self):
        self.assertEqual(msgdef.snake_case("TopicData"), "topic_data")
        self.assertEqual(msgdef.snake_case("IncludeClusterAuthorizedOperations"),
                         "include_cluster_authorized_operations")
        self.assertEqual(msgdef.snake_case("SASLAuthBytes"), "sasl_auth_bytes")
        self.assertEqual(msgdef.snake_case("V2Field"), "v2_field")


class Rejects(unittest.TestCase):
    def check(self, body, line, fragment, header=HEADER):
        found = errors(body, header)
        self.assertTrue(any(l == line and fragment in m for l, m in found),
                        f"no error containing {fragment!r} at line {line}: {found}")

    def test_unknown_type(self):
        self.check("request\n  A: int31\nresponse\n", 3, "unknown type")
        self.check("request\n  A: []Missing\nresponse\n", 3, "has no fields")

    def test_bad_version_ranges(self):
        self.check("request\n  A: int8 v4-2\nresponse\n", 3, "empty")
        self.check("request\n  A: int8 v9+\nresponse\n", 3, "outside the API's versions")
        self.check("request\n  A: int8 v1-9\nresponse\n", 3, "ends past")
        self.check("request\n  A: int8 v1.5\nresponse\n", 3, "bad version range")
        self.check("request\n  A: int8\nresponse\n", 1, "bad version range",
                   header="api Demo key=1 versions=4-2 flexible=none\n")
        self.check("request\n  A: int8\nresponse\n", 1, "past the last version",
                   header="api Demo key=1 versions=0-2 flexible=3+\n")

    def test_tagged_outside_flexible(self):
        self.check("request\n  A: int8 tag=0\nresponse\n", 3, "outside the flexible")
        self.check("request\n  A: int8 v1+ tag=0\nresponse\n", 3, "outside the flexible")
        self.check("request\n  A: int8 tag=0\nresponse\n", 3, "without flexible",
                   header="api Demo key=1 versions=0-2 flexible=none\n")
        self.check("request\n  A: int8 v3+ tag=0\n  B: int8 v3+ tag=0\nresponse\n", 4,
                   "duplicate tag")

    def test_nullable_on_non_nullable_types(self):
        self.check("request\n  A: int32 nullable=v0+\nresponse\n", 3, "cannot be nullable")
        self.check("request\n  A: uuid nullable=v0+\nresponse\n", 3, "cannot be nullable")
        self.check("request\n  A: string v0-1 nullable=v3+\nresponse\n", 3, "never overlaps")

    def test_defaults(self):
        self.check("request\n  A: int8 default=300\nresponse\n", 3, "not a valid int8")
        self.check("request\n  A: string default=null\nresponse\n", 3, "never nullable")
        self.check("request\n  A: []int32 default=0\nresponse\n", 3, "only takes default=null")
        self.check("request\n  A: bool default=1\nresponse\n", 3, "true or false")
        self.check("request\n  A: string default=abc\nresponse\n", 3, "bad default")

    def test_duplicates(self):
        self.check("request\n  A: int8\n  A: int16\nresponse\n", 4, "duplicate field")
        self.check("request\n  A: []S\n    X: int8\n  B: []S\n    X: int8\nresponse\n", 6,
                   "already defined")
        self.check("request\nrequest\nresponse\n", 3, "second 'request'")
        self.check("request\nresponse\n" + HEADER, 4, "must come once")

    def test_structure(self):
        self.check("request\n   A: int8\nresponse\n", 3, "multiple of two")
        self.check("request\n\tA: int8\nresponse\n", 3, "tab")
        self.check("request\n  A: int8\n    B: int8\nresponse\n", 4, "unexpected indentation")
        self.check("request\n", 1, "missing 'response'")
        self.check("  A: int8\n", 2, "outside a 'request'")
        self.check("request\n  a: int8\nresponse\n", 3, "PascalCase")
        self.check("request\n  ApiKey: int16\nresponse\n", 3, "collides")
        self.check("request\n  A: int8 v1+ frobnicate\nresponse\n", 3, "unknown attribute")
        self.check("request\n  A: int8 default=\"x\nresponse\n", 3, "unterminated")

    def test_all_errors_reported_at_once(self):
        found = errors("request\n  A: int31\n  B: int8 v9+\nresponse\n  C: []Nope\n")
        self.assertGreaterEqual(len(found), 3)

    def test_cross_file_duplicates(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            a = Path(d) / "a.msg"
            b = Path(d) / "b.msg"
            a.write_text(HEADER + "request\nresponse\n")
            b.write_text(HEADER.replace("Demo", "Other") + "request\nresponse\n")
            with self.assertRaises(msgdef.MsgError) as ctx:
                msgdef.parse_files([a, b])
            self.assertIn("api key 900", str(ctx.exception))


class RepositoryDefinitions(unittest.TestCase):
    def test_every_definition_parses(self):
        files = sorted((ROOT / "cpp" / "src" / "protocol" / "messages").glob("*.msg"))
        self.assertTrue(files)
        apis = msgdef.parse_files(files)
        self.assertEqual(len(apis), len(files))


if __name__ == "__main__":
    unittest.main()
