#!/usr/bin/env python3
"""Checks the AWS regions in src/regions.rs against the AWS SDK's endpoint rules.

The service takes a user pool id's prefix as its region only if it is one of
the regions the SDK's partitions name (`AWS_REGIONS` in src/regions.rs), so
that callers cannot make it build clients, buckets or metric series for names
of their choosing. This script reads the partitions JSON built into the
aws-sdk-cognitoidentityprovider version in Cargo.lock and fails if the list
differs, printing the list to paste. Run it after upgrading the SDK:

    python3 scripts/aws-regions.py
"""

import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sdk_regions():
    lock = open(os.path.join(ROOT, "Cargo.lock"), encoding="utf-8").read()
    version = re.search(
        r'name = "aws-sdk-cognitoidentityprovider"\nversion = "([^"]+)"', lock
    ).group(1)
    cargo_home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    registry = os.path.join(cargo_home, "registry", "src")
    crate = f"aws-sdk-cognitoidentityprovider-{version}"
    sources = [
        os.path.join(registry, index, crate, "src", "endpoint_lib.rs")
        for index in os.listdir(registry)
        if os.path.exists(os.path.join(registry, index, crate))
    ]
    if not sources:
        sys.exit(f"{crate} is not in {registry}: build the project first")
    text = open(sources[0], encoding="utf-8").read()
    literal = re.search(r'new_from_json\(b"((?:[^"\\]|\\.)*)"\)', text).group(1)
    partitions = json.loads(literal.encode().decode("unicode_escape"))
    regions = sorted(
        region
        for partition in partitions["partitions"]
        for region in partition["regions"]
        if not region.endswith("-global")
    )
    return regions, version


def listed_regions():
    text = open(os.path.join(ROOT, "src", "regions.rs"), encoding="utf-8").read()
    block = re.search(r"pub const AWS_REGIONS: &\[&str\] = &\[(.*?)\];", text, re.S).group(1)
    return re.findall(r'"([^"]+)"', block)


def main():
    expected, version = sdk_regions()
    listed = listed_regions()
    if listed == expected:
        print(f"AWS_REGIONS: {len(listed)} regions, as aws-sdk-cognitoidentityprovider {version} knows them")
        return 0
    print(f"AWS_REGIONS in src/regions.rs differs from aws-sdk-cognitoidentityprovider {version}:")
    print("  missing:", sorted(set(expected) - set(listed)))
    print("  not known to the SDK:", sorted(set(listed) - set(expected)))
    print("the list to paste:")
    print("\n".join(f'    "{region}",' for region in expected))
    return 1


if __name__ == "__main__":
    sys.exit(main())
