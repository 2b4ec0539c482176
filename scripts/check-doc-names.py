#!/usr/bin/env python3
"""Every code name the docs quote exists in the code.

Reads the Markdown files given and, in each `quoted` span, finds Rust paths (`a::b::C`) and
CamelCase names (`GroupMoves`). Each part must be an identifier somewhere in the tracked
sources; a name the code lost (a rename, a deletion) fails the lint stage with file and name.
"""
import re
import subprocess
import sys

SOURCES = ["app", "server", "frontend", "scripts", "deploy", "tools", "end2end"]
# Names the docs quote that belong to other software: a Cassandra replication class, a cookie
# attribute.
NOT_OURS = {"SimpleStrategy", "HttpOnly"}
# Rust comments and string literals, left out so that a word in prose does not pass for a name.
PROSE = re.compile(r'//[^\n]*|"(?:[^"\\\n]|\\.)*"')
NAME = re.compile(r"\b(?:[a-z_][a-z0-9_]*::)+[A-Za-z_][A-Za-z0-9_]*|\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\b")


def main(files):
    def tracked(*specs):
        return subprocess.run(
            ["git", "grep", "-h", "-I", "-e", "", "--", *specs], capture_output=True, text=True, check=True
        ).stdout

    rust = PROSE.sub(" ", tracked(*(f"{d}/*.rs" for d in SOURCES)))
    other = tracked(*SOURCES, *(f":!{d}/*.rs" for d in SOURCES))
    identifiers = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", rust + other))
    missing = set()
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for quoted in re.findall(r"`([^`\n]+)`", text):
            for name in NAME.findall(quoted):
                parts = [p for p in name.split("::") if p not in ("crate", "super", "self", "std")]
                if name not in NOT_OURS and not all(p in identifiers for p in parts):
                    missing.add((path, name))
    for path, name in sorted(missing):
        print(f"{path}: `{name}` names nothing in the code", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
