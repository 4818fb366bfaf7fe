#!/usr/bin/env python3
"""Fails if two modules of a crate import each other, directly or in a ring.

For each crate of the workspace, every `crate::`, `super::` and `self::` path
in a module's source (in `use` declarations, braces expanded, or inline) is an
arrow from that module to the deepest module the path names. Test modules
(`tests.rs`, and `#[cfg(test)]` blocks) are left out: a test module reads its
parent by design. A cycle is a strongly connected set of two or more modules,
looked for twice: between modules, and between the crate's top-level modules
(a submodule counted as its top-level one), so that `a::x -> b` and
`b -> a::y` is a cycle too.

    python3 scripts/module-cycles.py     # prints the cycles, exits 1 if any
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["src", "crates/cognito-constraints/src", "crates/cognito-csv/src",
          "crates/cognito-emulator/src", "crates/importjobctl/src", "crates/fuzzing/src"]


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "main", "mod"):
        rel = rel[:-1]
    return tuple(rel)


def strip_tests(text):
    """The source without `#[cfg(test)]` items (a brace-matched block)."""
    out, i = [], 0
    while True:
        j = text.find("#[cfg(test)]", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        k = text.find("{", j)
        semicolon = text.find(";", j)
        if semicolon >= 0 and (k < 0 or semicolon < k):
            i = semicolon + 1  # `#[cfg(test)] mod tests;`
            continue
        depth, k = 0, k
        while k < len(text):
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            k += 1
            if depth == 0:
                break
        i = k


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = tree.replace(" ", "").replace("\n", "")
    if "{" not in tree:
        return [tree]
    head, rest = tree.split("{", 1)
    inner = rest[:rest.rfind("}")]
    parts, depth, start = [], 0, 0
    for i, c in enumerate(inner):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return [p for part in parts if part for p in expand(head + part)]


def paths_in(text):
    text = re.sub(r"//[^\n]*", "", text)
    found = []
    for match in re.finditer(r"\buse\s+((?:crate|super|self)::[^;]*);", text):
        found.extend(expand(match.group(1)))
    for match in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", text):
        found.append(match.group(1))
    return found


def resolve(module, path, modules):
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    else:
        base = module
        while parts and parts[0] in ("super", "self"):
            if parts.pop(0) == "super":
                base = base[:-1]
        rest = parts
    target = base
    for part in rest:
        if base + (part,) in modules or target + (part,) in modules:
            target = target + (part,)
        else:
            break
    return target


def cycles(src, top_level=False):
    modules = {}
    for dirpath, _, files in os.walk(src):
        for name in files:
            if name.endswith(".rs") and name != "tests.rs":
                path = os.path.join(dirpath, name)
                modules[module_of(src, path)] = path
    edges = {m: set() for m in modules}
    for module, path in modules.items():
        text = strip_tests(open(path, encoding="utf-8").read())
        for target_path in paths_in(text):
            target = resolve(module, target_path, modules)
            # An arrow into one's own subtree or from it to itself is not one.
            if target != module and target in modules and target[:len(module)] != module:
                edges[module].add(target)
    if top_level:
        collapsed = {}
        for module, targets in edges.items():
            for target in targets:
                a, b = module[:1], target[:1]
                if a and b and a != b:
                    collapsed.setdefault(a, set()).add(b)
                collapsed.setdefault(b, set())
            collapsed.setdefault(module[:1], set())
        collapsed.pop((), None)
        for targets in collapsed.values():
            targets.discard(())
        modules, edges = collapsed, collapsed
    # Tarjan's strongly connected components.
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in modules:
        if v not in index:
            visit(v)
    return out, sum(len(e) for e in edges.values())


def main():
    failed = False
    for crate in CRATES:
        for top_level in (False, True):
            found, arrows = cycles(os.path.join(ROOT, crate), top_level)
            level = "top-level modules" if top_level else "modules"
            print(f"{crate}: {arrows} arrows between {level}, {len(found)} cycles")
            for component in found:
                failed = True
                print("  cycle: " + ", ".join("::".join(m) or "(crate root)" for m in component))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
