#!/usr/bin/env python3
"""Runs tests/validation-cases.json through protovalidate, with the rules the
proto declares, and checks that its verdict is the case file's: valid, or
exactly which fields are invalid. tests/api/validation_cases.rs runs the same
file through the server, so the contract and the service cannot drift apart.

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

import protovalidate
from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTO_DIR = os.path.join(ROOT, "proto")
CASES = os.path.join(ROOT, "tests", "validation-cases.json")
API = "importjob/v1/import_job_service.proto"
VALIDATE = "buf/validate/validate.proto"


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
    return importlib.import_module("importjob.v1.import_job_service_pb2")


def verdict(message):
    """The invalid fields, in the proto's order, and the rules they broke."""
    fields, rules = [], []
    for violation in protovalidate.collect_violations(message):
        elements = violation.proto.field.elements
        if len(elements) != 1:
            sys.exit(f"unexpected violation path {violation.proto}")
        fields.append(elements[0].field_name)
        rules.append(violation.proto.rule_id)
    order = [f.name for f in message.DESCRIPTOR.fields]
    return sorted(set(fields), key=order.index), rules


def main():
    with open(CASES, encoding="utf-8") as f:
        cases = json.load(f)
    with tempfile.TemporaryDirectory(prefix="protovalidate-") as out_dir:
        pb = generate(out_dir)
        rules_seen = set()
        failed, problems = 0, 0
        for case in cases:
            message = pb.StopUserImportJobRequest(user_pool_id=case["user_pool_id"], job_id=case["job_id"])
            fields, rules = verdict(message)
            rules_seen.update(rules)
            ok = fields == case["fields"] and (not fields) == case["valid"]
            if not ok:
                failed += 1
                print(f"FAIL: {case['case']} ({case['user_pool_id']!r}, {case['job_id']!r}): "
                      f"protovalidate says {fields or 'valid'} {rules}, the case {case['fields'] or 'valid'}")
        # Each declared rule decides at least one case.
        expected_rules = {"string.min_len", "string.max_len", "string.pattern"}
        if rules_seen != expected_rules:
            problems += 1
            print(f"FAIL: the cases exercise the rules {sorted(rules_seen)}, not {sorted(expected_rules)}")
    print(f"protovalidate: {len(cases) - failed} passed, {failed} failed")
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
