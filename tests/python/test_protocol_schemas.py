"""Cross-check of our message definitions (cpp/src/protocol/messages/*.msg) against the official
Apache Kafka JSON schemas that kafka-python ships (kafka/protocol/schemas/resources/).

For every .msg file and every version of its range, request and response are compared
recursively: the ordered list of fields present in that version (name, type, nullability in that
version, tagged or not and the tag number, default value, ignorable), plus the api key and whether
the version is flexible. Names are compared with a capital first letter (see `_key`). Struct names may differ; only their fields are compared. Versions below
the JSON's validVersions (Kafka 4 removed some old versions) cannot be checked and are reported as
skipped (`pytest -rs` lists them); versions above it are an error.

The .msg files are read by our own parser (cpp/src/protocol/gen/msgdef.py). `load_definition`
turns its model into the small neutral model below (`Api` / `Field`), so that only that adapter
depends on the parser's API.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MESSAGES_DIR = ROOT / "cpp" / "src" / "protocol" / "messages"
GEN_DIR = ROOT / "cpp" / "src" / "protocol" / "gen"

PRIMITIVES = frozenset(
    "bool int8 int16 int32 int64 uint16 uint32 float64 string bytes uuid records".split()
)
INT_TYPES = frozenset("int8 int16 int32 int64 uint16 uint32".split())
OPEN = 1 << 15  # upper bound of an open range such as "3+"
UNKNOWN = object()  # an attribute the parser's model does not expose: not compared

# --------------------------------------------------------------------------------------------
# Neutral model both sides are converted to.


@dataclass
class Field:
    name: str
    type: str  # a primitive, "[]<primitive>", "struct" or "[]struct"
    versions: tuple[int, int]  # inclusive
    nullable: tuple[int, int] | None = None
    tag: int | None = None
    default: Any = UNKNOWN  # normalised (see normalise_default)
    ignorable: Any = UNKNOWN  # bool
    fields: list[Field] | None = None  # struct fields


@dataclass
class Api:
    name: str
    key: int
    versions: tuple[int, int]
    flexible: int | None  # first flexible version, None = no flexible version
    request: list[Field] = field(default_factory=list)
    response: list[Field] = field(default_factory=list)


def in_range(v: int, r: tuple[int, int] | None) -> bool:
    return r is not None and r[0] <= v <= r[1]


def fmt_range(r: tuple[int, int] | None) -> str:
    if r is None:
        return "none"
    if r[1] >= OPEN:
        return f"{r[0]}+"
    return f"{r[0]}" if r[0] == r[1] else f"{r[0]}-{r[1]}"


def parse_range(text: str) -> tuple[int, int] | None:
    """Kafka ("3+", "0-2", "1", "none") or ours ("v3+", "v0-2", "v1")."""
    text = text.strip().lstrip("v")
    if text in ("none", ""):
        return None
    if text.endswith("+"):
        return (int(text[:-1]), OPEN)
    if "-" in text:
        lo, hi = text.split("-", 1)
        return (int(lo), int(hi.lstrip("v")))
    return (int(text), int(text))


def type_kind(t: str) -> str:
    """Normalise a type: primitives stay, struct names become "struct"."""
    arr = t.startswith("[]")
    base = t[2:] if arr else t
    kind = base if base in PRIMITIVES else "struct"
    return "[]" + kind if arr else kind


def normalise_default(value: Any, ftype: str) -> Any:
    """A default as written (JSON value or our text, None = not written) -> comparable value."""
    if value is None:
        return implied_default(ftype)
    if isinstance(value, str):
        text = value.strip()
        if text == "null":
            return "null"
        if ftype in INT_TYPES:
            return int(text, 0)
        if ftype == "float64":
            return float(text)
        if ftype == "bool":
            return text.lower() == "true"
        if ftype == "string" and len(text) >= 2 and text[0] == text[-1] == '"':
            return json.loads(text)  # our quoted form
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value) if ftype == "float64" else int(value)
    return value


def implied_default(ftype: str) -> Any:
    if ftype in INT_TYPES:
        return 0
    if ftype == "float64":
        return 0.0
    if ftype == "bool":
        return False
    if ftype == "string":
        return ""
    return None  # arrays, structs, bytes, uuid, records: no comparable default


# --------------------------------------------------------------------------------------------
# Official schemas from kafka-python.


def find_schemas_dir() -> Path | None:
    """kafka-python's copy of Kafka's JSON schemas, or None if it is not installed."""
    try:
        import importlib.resources as resources

        path = Path(str(resources.files("kafka.protocol.schemas") / "resources"))
    except (ImportError, TypeError):
        try:
            import kafka
        except ImportError:
            return None
        path = Path(kafka.__file__).parent / "protocol" / "schemas" / "resources"
    return path if path.is_dir() else None


def schemas_dir() -> Path:
    path = find_schemas_dir()
    if path is None:
        pytest.fail("kafka-python 3.x with its schema resources (kafka/protocol/schemas/resources) "
                    "is not installed", pytrace=False)
    return path


def strip_json_comments(text: str) -> str:
    """Remove // comments outside string literals."""
    out = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


_json_cache: dict[str, dict] = {}


def load_schema(name: str) -> dict | None:
    if name not in _json_cache:
        path = schemas_dir() / f"{name}.json"
        if not path.exists():
            return None
        _json_cache[name] = json.loads(strip_json_comments(path.read_text()))
    return _json_cache[name]


def json_fields(fields: list[dict], common: dict[str, list[dict]]) -> list[Field]:
    result = []
    for f in fields:
        ftype = f["type"]
        versions = parse_range(f.get("versions") or f.get("taggedVersions") or "0+")
        nullable = parse_range(f["nullableVersions"]) if "nullableVersions" in f else None
        kind = type_kind(ftype)
        sub = None
        if kind.endswith("struct"):
            struct = ftype[2:] if ftype.startswith("[]") else ftype
            sub_json = f.get("fields", common.get(struct))
            if sub_json is None:
                raise AssertionError(f"JSON struct {struct} of field {f['name']} has no fields")
            sub = json_fields(sub_json, common)
        ignorable = f.get("ignorable", False)
        result.append(
            Field(
                name=f["name"],
                type=kind,
                versions=versions,
                nullable=nullable,
                tag=f.get("tag"),
                default=normalise_default(f.get("default"), ftype),
                ignorable=bool(ignorable) if not isinstance(ignorable, str) else ignorable == "true",
                fields=sub,
            )
        )
    return result


def json_message(schema: dict) -> tuple[tuple[int, int], int | None, list[Field]]:
    common = {s["name"]: s["fields"] for s in schema.get("commonStructs", [])}
    flex = parse_range(schema.get("flexibleVersions", "none"))
    return (
        parse_range(schema["validVersions"]),
        flex[0] if flex else None,
        json_fields(schema.get("fields", []), common),
    )


# --------------------------------------------------------------------------------------------
# Our definitions: the adapter over msgdef.py.


def import_msgdef():
    if not (GEN_DIR / "msgdef.py").exists():
        pytest.fail(f"{GEN_DIR / 'msgdef.py'} (the .msg parser) does not exist", pytrace=False)
    if str(GEN_DIR) not in sys.path:
        sys.path.insert(0, str(GEN_DIR))
    return importlib.import_module("msgdef")


def load_definition(path: Path) -> Api:
    """Parse one .msg file into the neutral model (the only place that knows msgdef's API)."""
    msgdef = import_msgdef()
    try:
        api = msgdef.parse_file(path)
    except msgdef.MsgError as e:
        pytest.fail(f"{path.relative_to(ROOT)} does not parse:\n{e}", pytrace=False)

    def rng(v) -> tuple[int, int] | None:
        if v is None:
            return None
        return (v.lo, OPEN if v.hi >= msgdef.MAX_VERSION else v.hi)

    def default(d, ftype: str) -> Any:
        if d is None:
            return implied_default(ftype)
        if d.kind == "null":
            return "null"
        if ftype == "float64":
            return float(d.value)
        return d.value

    def fields(fs) -> list[Field]:
        out = []
        for f in fs:
            ftype = str(f.type)  # "[]Name" / "Name" / "int32" ...
            out.append(
                Field(
                    name=f.name,
                    type=type_kind(ftype),
                    versions=rng(f.present),
                    nullable=rng(f.nullable),
                    tag=f.tag,
                    default=default(f.default, ftype),
                    ignorable=f.ignorable,
                    fields=fields(f.type.struct.fields) if f.type.struct is not None else None,
                )
            )
        return out

    return Api(
        name=api.name,
        key=api.key,
        versions=rng(api.versions),
        flexible=api.first_flexible_version,
        request=fields(api.request.fields),
        response=fields(api.response.fields),
    )


# --------------------------------------------------------------------------------------------
# Comparison.


def _desc(f: Field, v: int) -> str:
    bits = [f.type]
    if in_range(v, f.nullable):
        bits.append("nullable")
    if f.tag is not None:
        bits.append(f"tag={f.tag}")
    return " ".join(bits)


def _key(name: str) -> str:
    """Names are compared with a capital first letter: Kafka's generator capitalises them itself
    (CreateTopics' timeoutMs is TimeoutMs), and our format requires PascalCase."""
    return name[:1].upper() + name[1:]


def compare_fields(ours: list[Field], theirs: list[Field], v: int, path: str,
                   flexible: bool, diffs: list[str]) -> None:
    mine = [f for f in ours if in_range(v, f.versions)]
    ref = [f for f in theirs if in_range(v, f.versions)]
    if [_key(f.name) for f in mine] != [_key(f.name) for f in ref]:
        diffs.append(
            f"{path}: fields differ\n"
            f"      ours:  {[f.name for f in mine]}\n"
            f"      Kafka: {[f.name for f in ref]}"
        )
        # compare what can still be paired by name
        by_name = {_key(f.name): f for f in ref}
        pairs = [(f, by_name[_key(f.name)]) for f in mine if _key(f.name) in by_name]
    else:
        pairs = list(zip(mine, ref))
    for a, b in pairs:
        where = f"{path}.{a.name}"
        if a.type != b.type:
            diffs.append(f"{where}: type {a.type} (ours) vs {b.type} (Kafka)")
        if in_range(v, a.nullable) != in_range(v, b.nullable):
            diffs.append(
                f"{where}: nullable {in_range(v, a.nullable)} (ours, nullable={fmt_range(a.nullable)})"
                f" vs {in_range(v, b.nullable)} (Kafka, nullableVersions={fmt_range(b.nullable)})"
            )
        if a.tag != b.tag:
            diffs.append(f"{where}: tag {a.tag} (ours) vs {b.tag} (Kafka)")
        if a.tag is not None and not flexible:
            diffs.append(f"{where}: tagged field present in non-flexible version {v}")
        if a.default is not UNKNOWN and a.default != b.default:
            diffs.append(f"{where}: default {a.default!r} (ours) vs {b.default!r} (Kafka)")
        if a.ignorable is not UNKNOWN and a.ignorable != b.ignorable:
            diffs.append(f"{where}: ignorable {a.ignorable} (ours) vs {b.ignorable} (Kafka)")
        if a.fields is not None and b.fields is not None:
            compare_fields(a.fields, b.fields, v, where, flexible, diffs)


def compare_version(api: Api, v: int) -> list[str]:
    diffs: list[str] = []
    for side, ours in (("Request", api.request), ("Response", api.response)):
        schema = load_schema(api.name + side)
        if schema is None:
            diffs.append(f"{api.name}{side}.json not found in kafka-python's schemas")
            continue
        valid, flex, fields = json_message(schema)
        if schema.get("apiKey") != api.key:
            diffs.append(f"{side}: api key {api.key} (ours) vs {schema.get('apiKey')} (Kafka)")
        if not in_range(v, valid):
            diffs.append(f"{side}: version {v} is outside Kafka's validVersions {fmt_range(valid)}")
            continue
        our_flex = api.flexible is not None and v >= api.flexible
        their_flex = flex is not None and v >= flex
        if our_flex != their_flex:
            diffs.append(
                f"{side}: flexible {our_flex} (ours, flexible="
                f"{fmt_range((api.flexible, OPEN)) if api.flexible is not None else 'none'}) vs "
                f"{their_flex} (Kafka, flexibleVersions="
                f"{fmt_range((flex, OPEN)) if flex is not None else 'none'})"
            )
        compare_fields(ours, fields, v, side, our_flex, diffs)
    return diffs


# --------------------------------------------------------------------------------------------
# Test cases: one per (file, version), built from the files' header lines only, so that a file
# the parser rejects still shows up as a failing case.

_HEADER_RE = re.compile(r"^\s*api\s+(\w+)\s+.*?\bversions=v?(\d+)(?:-v?(\d+))?\b")


def _cases():
    cases = []
    for path in sorted(MESSAGES_DIR.glob("*.msg")):
        header = next(
            (l for l in path.read_text().splitlines() if l.strip() and not l.lstrip().startswith("#")),
            "",
        )
        m = _HEADER_RE.match(header)
        if not m:
            cases.append(pytest.param(path, None, id=f"{path.stem}-header"))
            continue
        lo = int(m[2])
        hi = int(m[3]) if m[3] is not None else lo
        name = m[1]
        for v in range(lo, hi + 1):
            marks = ()
            low = _json_min(name)
            if low is not None and v < low:
                marks = pytest.mark.skip(
                    reason=f"{path.name} v{v}: below Kafka's validVersions (from v{low}) in "
                    "kafka-python's schema, not checkable"
                )
            cases.append(pytest.param(path, v, id=f"{path.stem}-v{v}", marks=marks))
    return cases


def _json_min(name: str) -> int | None:
    if find_schemas_dir() is None:
        return None  # the test cases report it
    try:
        lows = []
        for side in ("Request", "Response"):
            schema = load_schema(name + side)
            if schema is not None:
                lows.append(parse_range(schema["validVersions"])[0])
        return max(lows) if lows else None
    except Exception:  # reported by the test itself
        return None


_parsed: dict[Path, Api] = {}


@pytest.mark.parametrize("path,version", _cases())
def test_definition_matches_kafka_schema(path: Path, version: int | None) -> None:
    rel = path.relative_to(ROOT)
    if version is None:
        pytest.fail(f"{rel}: no 'api NAME key=K versions=A-B ...' header line")
    if path not in _parsed:
        _parsed[path] = load_definition(path)
    api = _parsed[path]
    if version > api.versions[1] or version < api.versions[0]:
        pytest.fail(f"{rel}: parser reports versions {fmt_range(api.versions)}, header says otherwise")
    diffs = compare_version(api, version)
    if diffs:
        pytest.fail(
            f"{rel} v{version} differs from kafka-python's {api.name}Request/Response.json:\n  - "
            + "\n  - ".join(diffs),
            pytrace=False,
        )


def test_definitions_exist() -> None:
    assert list(MESSAGES_DIR.glob("*.msg")), f"no .msg files in {MESSAGES_DIR}"
