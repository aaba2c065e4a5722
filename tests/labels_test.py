#!/usr/bin/env python3
"""Labels say what tests do: a gtest program in tests/ labelled `unit` opens
no network socket and runs no event loop (those are `integration`, so
`ctest -L unit` stays the quick, hermetic inner loop).

Checks every pxed_test(NAME LABEL unit SOURCES ...) in tests/**/CMakeLists.txt
against its sources; prints each mislabelled test and exits 1 if any.

Usage: labels_test.py SOURCE_DIR
"""
import pathlib
import re
import sys

NETWORK = re.compile(r"\b(tcp|udp)::(socket|acceptor)\b|socket\(\s*AF_INET6?\b|\bio_context\b[^;]*\.run\(|\bio_\.run\(")
CALL = re.compile(r"pxed_test\((\S+)\s+LABEL\s+(\S+)\s+SOURCES\s+([^)]*?)(?:\s+LIBS\b[^)]*)?\)", re.S)


def main(top: pathlib.Path) -> int:
    bad = []
    checked = 0
    for cmake in sorted((top / "tests").rglob("CMakeLists.txt")):
        for name, label, sources in CALL.findall(cmake.read_text()):
            if label != "unit":
                continue
            for src in sources.split():
                path = cmake.parent / src
                checked += 1
                for n, line in enumerate(path.read_text().splitlines(), 1):
                    if NETWORK.search(line):
                        bad.append(f"{path.relative_to(top)}:{n}: {name} is labelled unit but uses the network: {line.strip()}")
                        break
    for b in bad:
        print(b)
    if checked == 0:
        print("no unit test sources found: the pattern no longer matches tests/*/CMakeLists.txt")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
