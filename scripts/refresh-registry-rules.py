#!/usr/bin/env python3
"""Refresh the data the registry rules embed (internal/rules/data/).

Reads the registries' own sources from local git checkouts (any commit; the
newest is used) and rewrites the data files, each headed by the repository,
commit and date it came from:

  classifiers.txt      pypa/trove-classifiers  src/trove_classifiers/__init__.py
  deprecated-classifiers.txt  (same file: deprecated_classifiers)
  stdlib-prohibited.txt pypi/stdlib-list stdlib_list/lists/*.txt, normalised as
                       warehouse/packaging/services.py STDLIB_PROHIBITED does
  platforms.json       pypi/warehouse warehouse/forklift/legacy.py (the sets
                       _valid_platform_tag reads)
  categories.txt       rust-lang/crates.io src/boot/categories.toml
  reserved-crates.txt  rust-lang/crates.io migrations/*/up.sql (reserved_crate_names)

The SPDX license list comes with github.com/github/go-spdx/v2; refresh it with
`go get github.com/github/go-spdx/v2@latest && go mod tidy`.

Usage:
  scripts/refresh-registry-rules.py --warehouse DIR --trove DIR --stdlib DIR --crates-io DIR
Each DIR is a git checkout or bare git directory. Without a flag, the script
clones the repository from GitHub into a temporary folder.
After refreshing, regenerate docs/registry-rules.md:
  UPDATE_RULES_DOC=1 go test ./internal/rules -run TestRegistryRulesDoc
"""

import argparse
import ast
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "internal", "rules", "data")


def git(repo, *args):
    gd = repo if os.path.exists(os.path.join(repo, "HEAD")) and not os.path.exists(os.path.join(repo, ".git")) else os.path.join(repo, ".git")
    return subprocess.run(["git", "--git-dir", gd, *args], check=True, capture_output=True).stdout


def show(repo, path):
    return git(repo, "show", "HEAD:" + path).decode()


def ls(repo, prefix):
    return git(repo, "ls-tree", "-r", "--name-only", "-z", "HEAD", prefix).decode().split("\0")


def origin(repo, name):
    commit, date = git(repo, "log", "-1", "--format=%H %cs").decode().split()
    return f"# source: {name} {commit} ({date}); refreshed {datetime.date.today()} by scripts/refresh-registry-rules.py\n"


def checkout(path, slug):
    if path:
        return path
    d = tempfile.mkdtemp()
    subprocess.run(["git", "clone", "--bare", "--filter=blob:none", f"https://github.com/{slug}", d], check=True)
    return d


def module_assign(src, name):
    for node in ast.parse(src).body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for t in targets:
            if isinstance(t, ast.Name) and t.id == name:
                return node.value
    raise SystemExit(f"{name} not found")


def write(name, header, lines):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(header)
        for line in lines:
            f.write(line + "\n")


def trove(repo):
    src = show(repo, "src/trove_classifiers/__init__.py")
    head = origin(repo, "pypa/trove-classifiers src/trove_classifiers/__init__.py")
    classifiers = ast.literal_eval(module_assign(src, "sorted_classifiers"))
    deprecated = ast.literal_eval(module_assign(src, "deprecated_classifiers"))
    write("classifiers.txt", head, sorted(classifiers))
    # One line per deprecated classifier: name, then its replacements, tab-separated.
    write("deprecated-classifiers.txt", head, ["\t".join([k, *v]) for k, v in sorted(deprecated.items())])


def canonicalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def stdlib(repo):
    names = set()
    for p in ls(repo, "stdlib_list/lists"):
        if not p.endswith(".txt"):
            continue
        for mod in show(repo, p).split():
            parts = mod.split(".")
            for i in range(len(parts)):
                names.add(canonicalize(".".join(parts[: i + 1]).rstrip("-_.").lstrip("-_.")))
    head = origin(repo, "pypi/stdlib-list stdlib_list/lists/*.txt")
    write("stdlib-prohibited.txt", head, sorted(n for n in names if n))


def platforms(repo):
    src = show(repo, "warehouse/forklift/legacy.py")
    # Only the module-level tables: the rest of legacy.py may use syntax newer
    # than the Python running this script.
    start, end = src.index("_allowed_platforms = {"), src.index("def _valid_platform_tag")
    src = src[start:end]
    data = {}
    for name in ["_allowed_platforms", "_macosx_arches", "_macosx_major_versions", "_ios_arches", "_android_arches", "_jointlinux_arches"]:
        data[name] = sorted(ast.literal_eval(module_assign(src, name)))
    # _manylinux_arches = _jointlinux_arches | {...}
    node = module_assign(src, "_manylinux_arches")
    if not (isinstance(node, ast.BinOp) and isinstance(node.left, ast.Name) and node.left.id == "_jointlinux_arches"):
        raise SystemExit("_manylinux_arches changed shape; update this script and internal/rules/platform.go")
    data["_manylinux_extra_arches"] = sorted(ast.literal_eval(node.right))
    node = module_assign(src, "_musllinux_arches")
    if not (isinstance(node, ast.Name) and node.id == "_jointlinux_arches"):
        raise SystemExit("_musllinux_arches changed shape; update this script and internal/rules/platform.go")
    for rx in ["_macosx_platform_re", "_ios_platform_re", "_android_platform_re", "_linux_platform_re", "_pyemscripten_platform_re"]:
        call = module_assign(src, rx)
        data[rx] = "".join(ast.literal_eval(a) for a in call.args[:1])
    data["_source"] = origin(repo, "pypi/warehouse warehouse/forklift/legacy.py").strip("# \n")
    with open(os.path.join(OUT, "platforms.json"), "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")


def categories(repo):
    cats = tomllib.loads(show(repo, "src/boot/categories.toml"))
    slugs = []

    def walk(prefix, table):
        for slug, c in table.items():
            full = prefix + slug
            slugs.append(full)
            walk(full + "::", c.get("categories", {}))

    walk("", cats)
    write("categories.txt", origin(repo, "rust-lang/crates.io src/boot/categories.toml"), sorted(slugs))


def reserved(repo):
    names = set()
    for p in sorted(ls(repo, "migrations")):
        if not p.endswith("/up.sql"):
            continue
        sql = show(repo, p)
        for m in re.finditer(r"INSERT INTO reserved_crate_names\s*\(name\)\s*VALUES(.*?);", sql, re.S | re.I):
            names.update(re.findall(r"\('([^']*)'\)", m.group(1)))
        for m in re.finditer(r"DELETE FROM reserved_crate_names WHERE name\s*(?:=|IN)\s*\(?(.*?)\)?;", sql, re.S | re.I):
            names.difference_update(re.findall(r"'([^']*)'", m.group(1)))
    write("reserved-crates.txt", origin(repo, "rust-lang/crates.io migrations/*/up.sql (reserved_crate_names)"), sorted(names))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse")
    ap.add_argument("--trove")
    ap.add_argument("--stdlib")
    ap.add_argument("--crates-io")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    trove(checkout(a.trove, "pypa/trove-classifiers"))
    stdlib(checkout(a.stdlib, "pypi/stdlib-list"))
    platforms(checkout(a.warehouse, "pypi/warehouse"))
    crates = checkout(a.crates_io, "rust-lang/crates.io")
    categories(crates)
    reserved(crates)
    print("refreshed", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
