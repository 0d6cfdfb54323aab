#!/usr/bin/env python3
"""Parser and validator of the protocol message definitions (`messages/*.msg`).

The format is specified in docs/protocol_messages.md. This module turns a file into a model
(ApiDef -> MessageDef -> Field/StructDef) that generate.py and other scripts use. It is strict:
every problem is reported with file:line, and all problems of a file are reported at once.

    python3 msgdef.py FILE...     validate files, print errors, exit status 1 if any

Standard library only (CMake runs it with the system interpreter).
"""
from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Optional, Union

MAX_VERSION = 32767  # open-ended ranges ("v3+") end here

PRIMITIVES = (
    "bool", "int8", "int16", "int32", "int64", "uint16", "uint32", "float64",
    "string", "bytes", "uuid", "records",
)
INTEGER_RANGES = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
    "uint16": (0, (1 << 16) - 1),
    "uint32": (0, (1 << 32) - 1),
}
# Types whose values may be null on the wire (arrays and structs too).
NULLABLE_PRIMITIVES = ("string", "bytes", "records")

NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
FIELD_VERSIONS_RE = re.compile(r"^v(\d+)(\+|-(\d+))?$")

# Member names the generated structs use themselves.
RESERVED_MEMBERS = {"unknown_tagged_fields", "read", "write", "decode", "encode"}
RESERVED_TOP_LEVEL_MEMBERS = {
    "api_key", "api_name", "min_version", "max_version", "first_flexible_version", "is_request",
}


class MsgError(Exception):
    """One or more definition errors; `errors` holds (path, line, message) triples."""

    def __init__(self, errors: list[tuple[str, int, str]]):
        self.errors = errors
        super().__init__("\n".join(format_error(e) for e in errors))


def format_error(error: tuple[str, int, str]) -> str:
    path, line, message = error
    return f"{path}:{line}: error: {message}"


@dataclasses.dataclass(frozen=True)
class Versions:
    """An inclusive range of versions; `hi == MAX_VERSION` means open-ended ("v3+")."""

    lo: int
    hi: int

    def __contains__(self, version: int) -> bool:
        return self.lo <= version <= self.hi

    def intersect(self, other: "Versions") -> Optional["Versions"]:
        lo, hi = max(self.lo, other.lo), min(self.hi, other.hi)
        return Versions(lo, hi) if lo <= hi else None

    def is_subset_of(self, other: "Versions") -> bool:
        return other.lo <= self.lo and self.hi <= other.hi

    def __str__(self) -> str:
        if self.hi == MAX_VERSION:
            return f"v{self.lo}+"
        if self.lo == self.hi:
            return f"v{self.lo}"
        return f"v{self.lo}-{self.hi}"


@dataclasses.dataclass(frozen=True)
class Default:
    """A parsed `default=`: kind is 'null', 'bool', 'int', 'float' or 'string'."""

    kind: str
    value: Union[None, bool, int, float, str]


@dataclasses.dataclass
class Type:
    name: str  # a primitive name, or a struct name
    is_array: bool
    struct: Optional["StructDef"] = None  # set for struct types

    @property
    def is_struct(self) -> bool:
        return self.struct is not None

    @property
    def is_primitive(self) -> bool:
        return self.struct is None

    def __str__(self) -> str:
        return ("[]" if self.is_array else "") + self.name


@dataclasses.dataclass
class Field:
    name: str
    type: Type
    versions: Versions  # as declared (clipped to the API's range); the whole range if omitted
    present: Versions  # where it is actually on the wire: versions within the parent's presence
    nullable: Optional[Versions]  # versions in which it may be null (within `versions`), or None
    tag: Optional[int]
    default: Optional[Default]
    ignorable: bool
    attrs: dict[str, str]  # informational key=value words (entity=..., ...)
    line: int

    @property
    def is_tagged(self) -> bool:
        return self.tag is not None

    @property
    def is_nullable(self) -> bool:
        return self.nullable is not None


@dataclasses.dataclass
class StructDef:
    name: str
    message: str  # name of the message that defines it (e.g. "ProduceRequest")
    fields: list[Field]
    line: int


@dataclasses.dataclass
class MessageDef:
    kind: str  # "request" or "response"
    name: str  # e.g. "ProduceRequest"
    fields: list[Field]
    structs: list[StructDef]  # structs defined (not just reused) in this message, in order
    line: int


@dataclasses.dataclass
class ApiDef:
    name: str
    key: int
    versions: Versions
    flexible: Optional[Versions]  # None for flexible=none
    request: MessageDef
    response: MessageDef
    path: str
    line: int

    @property
    def min_version(self) -> int:
        return self.versions.lo

    @property
    def max_version(self) -> int:
        return self.versions.hi

    @property
    def first_flexible_version(self) -> Optional[int]:
        return self.flexible.lo if self.flexible else None

    @property
    def messages(self) -> tuple[MessageDef, MessageDef]:
        return (self.request, self.response)


def snake_case(name: str) -> str:
    """PascalCase field name -> snake_case member name (TopicData -> topic_data)."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


# ----------------------------------------------------------------------------------------------
# Lexing


def _strip_comment(text: str) -> str:
    in_quotes = False
    escaped = False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\" and in_quotes:
            escaped = True
        elif c == '"':
            in_quotes = not in_quotes
        elif c == "#" and not in_quotes:
            return text[:i]
    return text


def _tokenize(text: str) -> list[str]:
    """Whitespace-separated words; double-quoted parts may contain spaces."""
    tokens: list[str] = []
    current = ""
    in_quotes = False
    escaped = False
    started = False
    for c in text:
        if in_quotes:
            current += c
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_quotes = False
        elif c.isspace():
            if started:
                tokens.append(current)
                current, started = "", False
        else:
            current += c
            started = True
            if c == '"':
                in_quotes = True
    if in_quotes:
        raise ValueError("unterminated string")
    if started:
        tokens.append(current)
    return tokens


# ----------------------------------------------------------------------------------------------
# Parsing


@dataclasses.dataclass
class _Context:
    level: int  # indentation level of the fields it holds
    fields: list[Field]
    struct: Optional[StructDef]  # None for a message body
    present: Versions  # versions in which the holder is on the wire
    defining_line: int


class _Parser:
    def __init__(self, text: str, path: str):
        self.path = path
        self.lines = text.splitlines()
        self.errors: list[tuple[str, int, str]] = []
        self.api: Optional[dict] = None
        self.messages: dict[str, MessageDef] = {}
        self.message: Optional[MessageDef] = None
        self.stack: list[_Context] = []
        self.structs: dict[str, dict[str, StructDef]] = {}  # message kind -> name -> struct
        self.last_reuse: Optional[tuple[int, StructDef]] = None  # (level, struct) of a reuse

    def error(self, line: int, message: str) -> None:
        self.errors.append((self.path, line, message))

    # -- top level -----------------------------------------------------------------------------

    def parse(self) -> Optional[ApiDef]:
        for number, raw in enumerate(self.lines, start=1):
            if "\t" in raw:
                self.error(number, "tab character (indent with two spaces per level)")
                continue
            body = _strip_comment(raw).rstrip()
            if not body.strip():
                continue
            indent = len(body) - len(body.lstrip(" "))
            if indent % 2:
                self.error(number, f"indentation of {indent} spaces (must be a multiple of two)")
                continue
            try:
                tokens = _tokenize(body)
            except ValueError as e:
                self.error(number, str(e))
                continue
            level = indent // 2
            if level == 0:
                self._close_contexts(0)
                self._top_level_line(number, tokens)
            else:
                self._field_line(number, level, tokens)
        self._close_contexts(0)
        if self.api is None:
            self.error(1, "missing 'api NAME key=K versions=A-B flexible=F+|none' line")
            return None
        for kind in ("request", "response"):
            if kind not in self.messages:
                self.error(self.api["line"], f"missing '{kind}' section")
        if self.errors:
            return None
        return ApiDef(
            name=self.api["name"], key=self.api["key"], versions=self.api["versions"],
            flexible=self.api["flexible"], request=self.messages["request"],
            response=self.messages["response"], path=self.path, line=self.api["line"])

    def _top_level_line(self, number: int, tokens: list[str]) -> None:
        word = tokens[0]
        if word == "api":
            if self.api is not None or self.messages:
                self.error(number, "the 'api' line must come once, first")
                return
            self._api_line(number, tokens)
        elif word in ("request", "response"):
            if len(tokens) != 1:
                self.error(number, f"unexpected words after '{word}'")
            if self.api is None:
                self.error(number, f"'{word}' before the 'api' line")
                return
            if word in self.messages:
                self.error(number, f"second '{word}' section")
                return
            if word == "response" and "request" not in self.messages:
                self.error(number, "'response' must follow the 'request' section")
            name = self.api["name"] + ("Request" if word == "request" else "Response")
            self.message = MessageDef(kind=word, name=name, fields=[], structs=[], line=number)
            self.messages[word] = self.message
            self.structs[word] = {}
            self.stack = [_Context(1, self.message.fields, None, self.api["versions"], number)]
        else:
            self.error(number, f"expected 'api', 'request' or 'response', found '{word}' "
                               "(fields are indented by two spaces)")

    def _api_line(self, number: int, tokens: list[str]) -> None:
        if len(tokens) < 2 or not NAME_RE.match(tokens[1]):
            self.error(number, "expected 'api NAME ...' with a PascalCase name")
            return
        api = {"name": tokens[1], "line": number, "key": None, "versions": None, "flexible": None}
        seen = set()
        for word in tokens[2:]:
            if "=" not in word:
                self.error(number, f"unexpected word '{word}' on the api line")
                continue
            key, value = word.split("=", 1)
            if key in seen:
                self.error(number, f"'{key}' given twice")
            seen.add(key)
            if key == "key":
                if not re.fullmatch(r"\d+", value) or int(value) > MAX_VERSION:
                    self.error(number, f"bad api key '{value}'")
                else:
                    api["key"] = int(value)
            elif key == "versions":
                m = re.fullmatch(r"(\d+)(?:-(\d+))?", value)
                if not m:
                    self.error(number, f"bad versions '{value}' (expected A-B)")
                    continue
                lo = int(m.group(1))
                hi = int(m.group(2)) if m.group(2) is not None else lo
                if lo > hi or hi >= MAX_VERSION:
                    self.error(number, f"bad version range '{value}'")
                    continue
                api["versions"] = Versions(lo, hi)
            elif key == "flexible":
                if value == "none":
                    api["flexible"] = "none"
                    continue
                m = re.fullmatch(r"(\d+)\+", value)
                if not m:
                    self.error(number, f"bad flexible '{value}' (expected F+ or none)")
                    continue
                api["flexible"] = int(m.group(1))
            # other key=value words are informational
        for required in ("key", "versions", "flexible"):
            if required not in seen:
                self.error(number, f"the api line needs {required}=")
        if api["key"] is None or api["versions"] is None or api["flexible"] is None:
            # Keep going with placeholders so the rest of the file is still checked.
            api["key"] = api["key"] if api["key"] is not None else 0
            api["versions"] = api["versions"] or Versions(0, 0)
            api["flexible"] = None
        elif api["flexible"] == "none":
            api["flexible"] = None
        else:
            first = api["flexible"]
            if first > api["versions"].hi:
                self.error(number, f"flexible={first}+ is past the last version "
                                   f"{api['versions'].hi} (use flexible=none)")
                api["flexible"] = None
            else:
                api["flexible"] = Versions(max(first, api["versions"].lo), api["versions"].hi)
        self.api = api

    # -- fields --------------------------------------------------------------------------------

    def _close_contexts(self, level: int) -> None:
        """Pops struct contexts deeper than `level` (a field at `level` is next)."""
        while self.stack and self.stack[-1].level > level:
            ctx = self.stack.pop()
            if ctx.struct is not None and not ctx.fields:
                self.error(ctx.defining_line,
                           f"struct {ctx.struct.name} has no fields (a struct is defined by its "
                           "indented fields where it is first used)")
        if level == 0:
            self.stack = []

    def _field_line(self, number: int, level: int, tokens: list[str]) -> None:
        if self.message is None:
            self.error(number, "field outside a 'request' or 'response' section")
            return
        deepest = self.stack[-1].level if self.stack else 0
        if level > deepest:
            if self.last_reuse is not None and level == self.last_reuse[0] + 1:
                struct = self.last_reuse[1]
                self.error(number, f"struct {struct.name} is already defined (line {struct.line}); "
                                   "a reuse has no fields of its own")
            else:
                self.error(number, "unexpected indentation (only the fields of a new struct are "
                                   "indented under it)")
            return
        self._close_contexts(level)
        ctx = self.stack[-1]
        self.last_reuse = None
        field = self._parse_field(number, tokens, ctx)
        if field is None:
            return
        ctx.fields.append(field)
        struct = field.type.struct
        if struct is not None and not struct.fields and struct.line == number:
            # A new struct: its fields follow, one level deeper.
            self.stack.append(_Context(level + 1, struct.fields, struct, field.present, number))
        elif struct is not None:
            self.last_reuse = (level, struct)

    def _lookup_struct(self, name: str) -> Optional[StructDef]:
        assert self.message is not None
        own = self.structs[self.message.kind].get(name)
        if own is not None:
            return own
        if self.message.kind == "response":
            return self.structs.get("request", {}).get(name)
        return None

    def _parse_field(self, number: int, tokens: list[str], ctx: _Context) -> Optional[Field]:
        assert self.api is not None and self.message is not None
        head = tokens[0]
        if not head.endswith(":") or len(tokens) < 2:
            self.error(number, "expected 'Name: TYPE [VERSIONS] [attributes]'")
            return None
        name = head[:-1]
        if not NAME_RE.match(name):
            self.error(number, f"field name '{name}' must be PascalCase (letters and digits)")
            return None
        member = snake_case(name)
        top_level = ctx.struct is None
        reserved = RESERVED_MEMBERS | (RESERVED_TOP_LEVEL_MEMBERS if top_level else set())
        if member in reserved:
            self.error(number, f"field name '{name}' collides with the generated member '{member}'")
        for other in ctx.fields:
            if snake_case(other.name) == member:
                self.error(number, f"duplicate field '{name}' (line {other.line})")

        # Type.
        type_text = tokens[1]
        is_array = type_text.startswith("[]")
        base = type_text[2:] if is_array else type_text
        ftype: Optional[Type] = None
        if base in PRIMITIVES:
            if is_array and base == "records":
                self.error(number, "arrays of records are not supported")
            ftype = Type(base, is_array)
        elif NAME_RE.match(base):
            struct = self._lookup_struct(base)
            if struct is None:
                if base == self.message.name:
                    self.error(number, f"struct name '{base}' is the message's own name")
                struct = StructDef(name=base, message=self.message.name, fields=[], line=number)
                self.structs[self.message.kind][base] = struct
                self.message.structs.append(struct)
            ftype = Type(base, is_array, struct)
        else:
            self.error(number, f"unknown type '{type_text}'")
            return None

        # Versions.
        api_versions: Versions = self.api["versions"]
        rest = tokens[2:]
        versions = api_versions
        if rest and FIELD_VERSIONS_RE.match(rest[0]):
            parsed = self._parse_field_versions(number, rest[0], "version")
            rest = rest[1:]
            if parsed is not None:
                versions = parsed
        elif rest and re.match(r"^v\d", rest[0]):
            self.error(number, f"bad version range '{rest[0]}' (expected vN+, vN-M or vN)")
            rest = rest[1:]
        present = versions.intersect(ctx.present)
        if present is None:
            self.error(number, f"field '{name}' ({versions}) is never present: its parent is "
                               f"only present in {ctx.present}")
            present = versions

        # Attributes.
        nullable: Optional[Versions] = None
        tag: Optional[int] = None
        default: Optional[Default] = None
        ignorable = False
        attrs: dict[str, str] = {}
        for word in rest:
            if "=" not in word:
                if word == "ignorable":
                    ignorable = True
                elif FIELD_VERSIONS_RE.match(word):
                    self.error(number, "VERSIONS must come right after the type")
                else:
                    self.error(number, f"unknown attribute '{word}'")
                continue
            key, value = word.split("=", 1)
            if key in ("nullable", "tag", "default") and key in attrs:
                self.error(number, f"'{key}' given twice")
            attrs[key] = value
            if key == "nullable":
                nullable = self._parse_field_versions(number, value, "nullable")
            elif key == "tag":
                if not re.fullmatch(r"\d+", value) or int(value) > (1 << 31) - 1:
                    self.error(number, f"bad tag '{value}'")
                else:
                    tag = int(value)
            elif key == "default":
                default = self._parse_default(number, value)
        for key in ("nullable", "tag", "default"):
            attrs.pop(key, None)

        # Nullability.
        can_be_null = is_array or ftype.is_struct or base in NULLABLE_PRIMITIVES
        if nullable is not None:
            if not can_be_null:
                self.error(number, f"type '{type_text}' cannot be nullable")
                nullable = None
            else:
                clipped = nullable.intersect(versions)
                if clipped is None:
                    self.error(number, f"nullable={nullable} never overlaps the field's versions "
                                       f"{versions}")
                nullable = clipped

        # Tagged fields.
        if tag is not None:
            flexible: Optional[Versions] = self.api["flexible"]
            if flexible is None:
                self.error(number, "tagged field in an API without flexible versions")
            elif not present.is_subset_of(flexible):
                self.error(number, f"tagged field present in {present}, outside the flexible "
                                   f"versions {flexible}")
            for other in ctx.fields:
                if other.tag == tag:
                    self.error(number, f"duplicate tag {tag} (field '{other.name}', line "
                                       f"{other.line})")

        # Default.
        if default is not None:
            self._check_default(number, default, ftype, nullable)

        return Field(name=name, type=ftype, versions=versions, present=present, nullable=nullable,
                     tag=tag, default=default, ignorable=ignorable, attrs=attrs, line=number)

    def _parse_field_versions(self, number: int, text: str, what: str) -> Optional[Versions]:
        assert self.api is not None
        m = FIELD_VERSIONS_RE.match(text)
        if not m:
            self.error(number, f"bad {what} range '{text}' (expected vN+, vN-M or vN)")
            return None
        api: Versions = self.api["versions"]
        lo = int(m.group(1))
        if m.group(2) == "+":
            hi = MAX_VERSION
        elif m.group(3) is not None:
            hi = int(m.group(3))
        else:
            hi = lo
        if lo > hi:
            self.error(number, f"bad {what} range '{text}' (empty)")
            return None
        if lo > api.hi or hi < api.lo:
            self.error(number, f"{what} range '{text}' is outside the API's versions "
                               f"{api.lo}-{api.hi}")
            return None
        if hi != MAX_VERSION and hi > api.hi:
            self.error(number, f"{what} range '{text}' ends past the API's last version {api.hi} "
                               f"(write v{lo}+)")
            return None
        return Versions(max(lo, api.lo), min(hi, api.hi))

    def _parse_default(self, number: int, text: str) -> Optional[Default]:
        if text == "null":
            return Default("null", None)
        if text in ("true", "false"):
            return Default("bool", text == "true")
        if text.startswith('"'):
            if len(text) < 2 or not text.endswith('"'):
                self.error(number, f"bad string default {text}")
                return None
            body = text[1:-1]
            out = ""
            i = 0
            while i < len(body):
                c = body[i]
                if c == "\\":
                    if i + 1 >= len(body) or body[i + 1] not in '"\\':
                        self.error(number, f"bad escape in string default {text}")
                        return None
                    out += body[i + 1]
                    i += 2
                    continue
                if c == '"':
                    self.error(number, f"unescaped quote in string default {text}")
                    return None
                out += c
                i += 1
            return Default("string", out)
        if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", text):
            return Default("int", int(text, 16))
        if re.fullmatch(r"-?\d+", text):
            return Default("int", int(text))
        if re.fullmatch(r"-?\d+\.\d*([eE][-+]?\d+)?", text):
            return Default("float", float(text))
        self.error(number, f"bad default '{text}'")
        return None

    def _check_default(self, number: int, default: Default, ftype: Type,
                       nullable: Optional[Versions]) -> None:
        if default.kind == "null":
            if nullable is None:
                self.error(number, "default=null on a field that is never nullable")
            return
        base = ftype.name
        if ftype.is_array or ftype.is_struct or base in ("bytes", "records", "uuid"):
            self.error(number, f"type '{ftype}' only takes default=null")
        elif base in INTEGER_RANGES:
            lo, hi = INTEGER_RANGES[base]
            if default.kind != "int" or not lo <= int(default.value) <= hi:  # type: ignore[arg-type]
                self.error(number, f"default {default.value!r} is not a valid {base}")
        elif base == "float64":
            if default.kind not in ("int", "float"):
                self.error(number, f"default {default.value!r} is not a number")
        elif base == "bool":
            if default.kind != "bool":
                self.error(number, "a bool default is true or false")
        elif base == "string":
            if default.kind != "string":
                self.error(number, "a string default is written in double quotes")
            elif len(str(default.value).encode()) > 32767:
                self.error(number, "string default is too long")


def parse_text(text: str, path: str = "<string>") -> ApiDef:
    parser = _Parser(text, path)
    api = parser.parse()
    if parser.errors or api is None:
        raise MsgError(parser.errors)
    return api


def parse_file(path: Union[str, Path]) -> ApiDef:
    return parse_text(Path(path).read_text(encoding="utf-8"), str(path))


def parse_files(paths: list[Union[str, Path]]) -> list[ApiDef]:
    """Parses every file, then checks that keys and names are unique across them. Raises
    MsgError with the errors of all files."""
    errors: list[tuple[str, int, str]] = []
    apis: list[ApiDef] = []
    for path in paths:
        try:
            apis.append(parse_file(path))
        except MsgError as e:
            errors.extend(e.errors)
        except OSError as e:
            errors.append((str(path), 0, str(e)))
    by_key: dict[int, ApiDef] = {}
    by_name: dict[str, ApiDef] = {}
    for api in apis:
        if api.key in by_key:
            other = by_key[api.key]
            errors.append((api.path, api.line,
                           f"api key {api.key} is also defined in {other.path}:{other.line}"))
        if api.name in by_name:
            other = by_name[api.name]
            errors.append((api.path, api.line,
                           f"api {api.name} is also defined in {other.path}:{other.line}"))
        by_key.setdefault(api.key, api)
        by_name.setdefault(api.name, api)
    if errors:
        raise MsgError(errors)
    return sorted(apis, key=lambda a: a.key)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: msgdef.py FILE.msg...", file=sys.stderr)
        return 2
    try:
        apis = parse_files(argv)
    except MsgError as e:
        for error in e.errors:
            print(format_error(error), file=sys.stderr)
        return 1
    for api in apis:
        flexible = f"{api.first_flexible_version}+" if api.flexible else "none"
        print(f"{api.path}: ok: {api.name} key={api.key} versions={api.min_version}-"
              f"{api.max_version} flexible={flexible}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
