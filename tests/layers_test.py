#!/usr/bin/env python3
"""The module order of the README's layout table, as a build fact.

Every #include in include/pxed/<module>/ and src/<module>/ is checked:
  - a module includes only itself and the modules below it (MAY_USE);
  - third-party libraries stay where the README says: Asio/Beast in net/
    sources and app/daemon.cpp, yaml-cpp in inventory/, SQLite in store/,
    nlohmann-json in app/api.cpp, app/dashboard.cpp and app/check_report.cpp (pxed check --json), kainjow mustache in render/renderer.cpp,
    spdlog in net/ and app/, CLI11 in app/main.cpp; never in a public
    header (include/), so a header never drags one into its includers.
Prints every violation as file:line and exits 1 when there is one.

Usage: layers_test.py SOURCE_DIR
"""
import pathlib
import re
import sys

MAY_USE = {
    "wire": set(),
    "metrics": set(),
    "proto": {"wire"},
    "fs": {"wire"},
    "inventory": {"wire"},
    "render": {"wire", "fs", "inventory"},
    "store": {"wire", "metrics"},
    "engine": {"wire", "proto", "fs", "inventory", "render", "store"},
    "doctor": {"wire", "proto", "fs", "inventory", "render"},
    "net": {"wire", "metrics", "proto", "fs", "store", "engine"},
    "app": {"wire", "metrics", "proto", "fs", "inventory", "render", "store", "engine", "net", "doctor"},
}

# library include prefix -> the source files (globs, relative to the
# project) that may include it. Public headers never may.
LIBRARIES = {
    "boost/": ["src/net/*.cpp", "src/net/*.hpp", "src/app/daemon.cpp"],
    "yaml-cpp/": ["src/inventory/*.cpp"],
    "sqlite3.h": ["src/store/*.cpp", "src/store/*.hpp"],
    "nlohmann/": ["src/app/api.cpp", "src/app/dashboard.cpp", "src/app/check_report.cpp"],
    "kainjow/": ["src/render/renderer.cpp"],
    "spdlog/": ["src/net/*.cpp", "src/net/*.hpp", "src/app/*.cpp"],
    "CLI/": ["src/app/main.cpp"],
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def module_of(rel):
    parts = rel.parts
    if parts[0] == "include" and len(parts) > 3 and parts[1] == "pxed":
        return parts[2]
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    return None


def main():
    top = pathlib.Path(sys.argv[1]).resolve()
    files = sorted(p for d in ("include", "src") for p in (top / d).rglob("*") if p.suffix in (".hpp", ".cpp", ".h"))
    problems, checked = [], 0
    for path in files:
        rel = path.relative_to(top)
        mod = module_of(rel)
        if mod is None:
            continue
        if mod not in MAY_USE:
            problems.append(f"{rel}: module '{mod}' is not in the layer order (tests/layers_test.py, README layout)")
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            checked += 1
            name = m.group(2)
            if name.startswith("pxed/"):
                other = name.split("/")[1]
                if other != mod and other not in MAY_USE[mod]:
                    problems.append(f"{rel}:{n}: {mod} includes {name}: {mod} may use only "
                                    f"{', '.join(sorted(MAY_USE[mod])) or 'nothing'} (README layout)")
                continue
            for lib, allowed in LIBRARIES.items():
                if not name.startswith(lib):
                    continue
                if rel.parts[0] == "include":
                    problems.append(f"{rel}:{n}: public header includes <{name}>: it would reach every includer")
                elif not any(rel.match(g) for g in allowed):
                    problems.append(f"{rel}:{n}: <{name}> belongs in {' or '.join(allowed)} only")
    for p in problems:
        print(p)
    print(f"{len(files)} files, {checked} includes checked, {len(problems)} out of order")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
