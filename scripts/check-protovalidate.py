#!/usr/bin/env python3
"""Runs tests/validation-cases.json through protovalidate, with the rules the
proto declares, and checks that its verdict is the case file's: valid, or
exactly which fields are invalid. tests/api/validation_cases.rs runs the same
file through the server, so the contract and the service cannot drift apart.

Each case names an ImportJobService method and its request, field by field
as the proto names them; a field left out keeps its default. A string value
is a JSON string, or a list of pieces joined: a string, or
{"repeat": "a", "times": 2017} for a long run of one text.

Every rule a request message declares must break at least one case of its
method, and a field ignored when zero must be sent zero in a valid case.

The Python classes are generated at run time from proto/ with grpcio-tools
into a temporary directory. protovalidate 2.x validates Google protobuf
messages but ships buf/validate only for its own runtime, so
buf/validate/validate.proto is generated from the vendored copy too, unless a
buf.validate.validate_pb2 is already importable (older protovalidate releases
shipped one): generating it then would register the file twice.

Needs: pip install protovalidate==2.1.0 grpcio-tools (see .ci/run for pins).
"""

import importlib
import importlib.util
import json
import os
import sys
import tempfile
from collections import Counter

import protovalidate
from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTO_DIR = os.path.join(ROOT, "proto")
CASES = os.path.join(ROOT, "tests", "validation-cases.json")
API = "importjob/v1/import_job_service.proto"
VALIDATE = "buf/validate/validate.proto"
SERVICE = "ImportJobService"
# The rules the proto declares today; a rule added later is checked as well.
KNOWN_RULES = {"string.min_len", "string.max_len", "string.pattern", "int32.gte", "int32.lte"}


def generate(out_dir):
    protos = [API]
    try:
        shipped = importlib.util.find_spec("buf.validate.validate_pb2") is not None
    except ModuleNotFoundError:
        shipped = False
    if not shipped:
        protos.append(VALIDATE)
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out_dir}", *protos]
    if protoc.main(args) != 0:
        sys.exit(f"protoc failed on {protos}")
    sys.path.insert(0, out_dir)
    api = importlib.import_module("importjob.v1.import_job_service_pb2")
    return api, importlib.import_module("buf.validate.validate_pb2")


def declared_rules(service, validate_pb2):
    """(method, field, rule id) of every rule the request messages declare,
    and (method, field) of every field ignored when zero."""
    rules, ignored = set(), set()
    ignore_if_zero = validate_pb2.Ignore.Value("IGNORE_IF_ZERO_VALUE")
    for method in service.methods:
        message = method.input_type
        if message.GetOptions().HasExtension(validate_pb2.message):
            sys.exit(f"{message.name} has message rules, which this script does not check")
        for field in message.fields:
            declared = field.GetOptions().Extensions[validate_pb2.field]
            for kind, value in declared.ListFields():
                if kind.name == "ignore":
                    if value != ignore_if_zero:
                        sys.exit(f"{message.name}.{field.name}: ignore {value} is not checked here")
                    ignored.add((method.name, field.name))
                elif kind.message_type is not None:
                    rules.update((method.name, field.name, f"{kind.name}.{rule.name}")
                                 for rule, _ in value.ListFields())
                else:
                    rules.add((method.name, field.name, kind.name))
    return rules, ignored


def text(value):
    """A string value of the case file: a string, or pieces joined."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        sys.exit(f"not a string value: {value!r}")
    pieces = []
    for piece in value:
        if isinstance(piece, str):
            pieces.append(piece)
        elif isinstance(piece, dict) and piece.keys() == {"repeat", "times"}:
            pieces.append(piece["repeat"] * piece["times"])
        else:
            sys.exit(f"not a piece of a string: {piece!r}")
    return "".join(pieces)


def build(api, service, case):
    method = service.methods_by_name.get(case["method"])
    if method is None:
        sys.exit(f"{case['case']}: no method {case['method']!r} in {SERVICE}")
    message = getattr(api, method.input_type.name)()
    for name, value in case["request"].items():
        field = message.DESCRIPTOR.fields_by_name.get(name)
        if field is None:
            sys.exit(f"{case['case']}: {method.input_type.name} has no field {name!r}")
        if field.type == field.TYPE_STRING:
            setattr(message, name, text(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            setattr(message, name, value)
        else:
            sys.exit(f"{case['case']}: {name} is not an integer: {value!r}")
    return message


def rule_broken(message, field_name, rule_id, validate_pb2):
    """The declared rule a violation breaks. protovalidate checks a lower and
    an upper bound as one range rule (rule id "int32.gte_lte"): the value
    tells which bound it breaks."""
    kind, _, name = rule_id.partition(".")
    lower, _, upper = name.partition("_")
    if lower not in ("gt", "gte") or not upper:
        return rule_id
    declared = message.DESCRIPTOR.fields_by_name[field_name].GetOptions().Extensions[validate_pb2.field]
    bounds = getattr(declared, kind)
    if upper not in ("lt", "lte") or getattr(bounds, lower) > getattr(bounds, upper):
        sys.exit(f"{field_name}: the range rule {rule_id} is not checked here")
    value, least = getattr(message, field_name), getattr(bounds, lower)
    below = value < least or (lower == "gt" and value == least)
    return f"{kind}.{lower if below else upper}"


def verdict(message, validate_pb2):
    """The invalid fields, in the proto's order, and each rule broken, with
    its field."""
    fields, broken = [], []
    for violation in protovalidate.collect_violations(message):
        elements = violation.proto.field.elements
        if len(elements) != 1:
            sys.exit(f"unexpected violation path {violation.proto}")
        field = elements[0].field_name
        fields.append(field)
        broken.append((field, rule_broken(message, field, violation.proto.rule_id, validate_pb2)))
    order = [f.name for f in message.DESCRIPTOR.fields]
    return sorted(set(fields), key=order.index), broken


def shown(value, limit=80):
    value = repr(value)
    return value if len(value) <= limit else f"{value[:limit]}... ({len(value)} characters)"


def main():
    with open(CASES, encoding="utf-8") as f:
        cases = json.load(f)
    with tempfile.TemporaryDirectory(prefix="protovalidate-") as out_dir:
        api, validate_pb2 = generate(out_dir)
        service = api.DESCRIPTOR.services_by_name[SERVICE]
        declared, ignored = declared_rules(service, validate_pb2)
        broken_seen, zero_seen = set(), set()
        failed, problems = 0, 0
        for case in cases:
            message = build(api, service, case)
            fields, broken = verdict(message, validate_pb2)
            broken_seen.update((case["method"], field, rule) for field, rule in broken)
            if not fields:
                zero_seen.update((case["method"], name) for name in case["request"]
                                 if getattr(message, name) == message.DESCRIPTOR.fields_by_name[name].default_value)
            ok = fields == case["fields"] and (not fields) == case["valid"]
            if not ok:
                failed += 1
                request = ", ".join(f"{k}={shown(getattr(message, k))}" for k in case["request"])
                print(f"FAIL: {case['method']}: {case['case']} ({request}): "
                      f"protovalidate says {fields or 'valid'} {broken}, the case {case['fields'] or 'valid'}")
        # Each declared rule decides at least one case of its method.
        if not KNOWN_RULES <= {rule for _, _, rule in declared}:
            problems += 1
            print(f"FAIL: the proto declares {sorted({r for _, _, r in declared})}, not all of {sorted(KNOWN_RULES)}")
        for method, field, rule in sorted(declared - broken_seen):
            problems += 1
            print(f"FAIL: no {method} case breaks {field}'s {rule}")
        for method, field, rule in sorted(broken_seen - declared):
            problems += 1
            print(f"FAIL: {method} cases break {field}'s {rule}, which the proto does not declare")
        for method, field in sorted(ignored - zero_seen):
            problems += 1
            print(f"FAIL: no valid {method} case sends {field} empty, which the proto ignores")
        # A streamed request (an upload) declares no rules: its later
        # messages carry none of its first message's fields.
        for method in (m for m in service.methods if not m.client_streaming):
            kinds = {c["valid"] for c in cases if c["method"] == method.name}
            if kinds != {True, False}:
                problems += 1
                print(f"FAIL: {method.name} lacks {'valid' if True not in kinds else 'invalid'} cases")
    per_method = Counter(case["method"] for case in cases)
    print("cases: " + ", ".join(f"{method.name} {per_method[method.name]}" for method in service.methods))
    print(f"rules: {len(declared & broken_seen)} of {len(declared)} declared (method, field, rule) broken by a case")
    print(f"protovalidate: {len(cases) - failed} passed, {failed} failed")
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
