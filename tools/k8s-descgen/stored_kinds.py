#!/usr/bin/env python3
"""Lists the (apiVersion, kind) pairs kube-apiserver may have written to etcd, per release.

Reads k8s.io/kubernetes at each release of tools/k8s-descgen/inputs.tsv from Go's module
cache (`go mod download k8s.io/kubernetes@v1.X.Y` first; not part of setup or CI: run
by hand when adding a release) and writes wasm-core/tests/k8s_every_kind/stored_kinds.tsv,
which the every-release test checks against the descriptor tables.

Per release:
- stored kinds: each `NewFunc: func() runtime.Object { return &<pkg>.<Kind>{} }` under
  pkg/registry/<group dir>/ (the generic registry store, one per stored resource), plus
  the two kube-apiserver writes outside it (RangeAllocation under /registry/ranges/,
  Endpoints under /registry/masterleases/) and the two kinds stored by the
  apiextensions and aggregator servers (CustomResourceDefinition, APIService);
- storage version: the resource's ResourceEncodingOverrides entry in
  pkg/kubeapiserver/default_storage_factory_builder.go, else the group's first version in
  pkg/apis/<group>/install/install.go (SetVersionPriority). Since 1.31 the API server can
  keep an older version for one release (emulation/compatibility version); those older
  versions are among the candidates below, so the check covers them too;
- candidates: every version of the stored kind's group in that release's k8s.io/api
  whose generated.proto defines the kind. A storage version is always one of them, so
  the test demands all candidates decode, and marks which one the rule above picks.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "wasm-core/tests/k8s_every_kind/stored_kinds.tsv")

# Stored by servers whose sources are not in k8s.io/kubernetes' module zip (staging).
EXTRA = [
    ("apiextensions-apiserver", "apiextensions", "apiextensions.k8s.io", "CustomResourceDefinition"),
    ("kube-aggregator", "apiregistration", "apiregistration.k8s.io", "APIService"),
]


def modcache():
    try:
        out = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except FileNotFoundError:
        pass
    return os.path.expanduser("~/go/pkg/mod")


def releases():
    seen = {}
    for line in open(os.path.join(ROOT, "tools/k8s-descgen/inputs.tsv")):
        if line.startswith("#"):
            continue
        release, module, version = line.split("\t")[:3]
        if module == "k8s.io/api":
            seen[release] = version
    return seen


def kubernetes_dir(cache, release):
    """The newest patch of k8s.io/kubernetes for `release` in the module cache."""
    base = os.path.join(cache, "k8s.io")
    best = None
    for d in os.listdir(base):
        m = re.fullmatch(r"kubernetes@v(\d+)\.(\d+)\.(\d+)", d)
        if m and f"{m[1]}.{m[2]}" == release:
            if best is None or int(m[3]) > best[0]:
                best = (int(m[3]), os.path.join(base, d))
    return best and best[1]


def group_names(api_dir):
    """k8s.io/api directory -> API group, from each package's `+groupName`."""
    out = {"core": ""}
    for gdir in os.listdir(api_dir):
        p = os.path.join(api_dir, gdir)
        if not os.path.isdir(p):
            continue
        for vdir in os.listdir(p):
            doc = os.path.join(p, vdir, "doc.go")
            if os.path.exists(doc):
                m = re.search(r"\+groupName=(\S+)", open(doc).read())
                if gdir != "core":
                    out[gdir] = m[1] if m else gdir
    return out


def proto_kinds(api_dir, gdir):
    """version -> kinds with a `<Kind>List` message, in k8s.io/api/<gdir>/<version>."""
    out = {}
    p = os.path.join(api_dir, gdir)
    if not os.path.isdir(p):
        return out
    for vdir in sorted(os.listdir(p)):
        f = os.path.join(p, vdir, "generated.proto")
        if os.path.exists(f):
            names = set(re.findall(r"^message (\w+) \{", open(f).read(), re.M))
            out[vdir] = {n for n in names if n + "List" in names} | (
                {"RangeAllocation"} & names
            )
    return out


def storage_version(kdir, gdir, kind):
    src = open(os.path.join(kdir, "pkg/kubeapiserver/default_storage_factory_builder.go")).read()
    body = src[src.find("resources := []schema.GroupVersionResource{") :]
    body = body[: body.find("}\n")]
    aliases = {}
    for alias, path in re.findall(r'^\s*(\w+\s+)?"k8s.io/kubernetes/pkg/apis/([\w/]+)"', src, re.M):
        aliases[alias.strip() or path.split("/")[-1]] = path.split("/")[0]
    for line in body.splitlines():
        if line.strip().startswith("//"):
            continue
        m = re.search(r'(\w+)\.Resource\("(\w+)"\)\.WithVersion\("(\w+)"\)', line)
        k = kind.lower()
        plurals = {k + "s", k + "es", k[:-1] + "ies"}
        if m and m[2] in plurals and aliases.get(m[1]) == gdir:
            return m[3]
    inst = os.path.join(kdir, f"pkg/apis/{gdir}/install/install.go")
    if not os.path.exists(inst):
        return None
    m = re.search(r"SetVersionPriority\(\s*(\w+)\.SchemeGroupVersion", open(inst).read())
    if not m:
        return None
    alias = m[1]
    imp = re.search(rf'{alias}\s+"k8s.io/kubernetes/pkg/apis/{gdir}/(\w+)"', open(inst).read())
    return imp[1] if imp else alias


def stored(kdir):
    """(group dir, resource dir, kind) for every registry store."""
    out = set()
    reg = os.path.join(kdir, "pkg/registry")
    pat = re.compile(r"NewFunc:\s+func\(\) runtime\.Object \{ return &\w+\.(\w+)\{\} \}")
    for dirpath, _, files in os.walk(reg):
        for f in files:
            if not f.endswith(".go") or f.endswith("_test.go"):
                continue
            for kind in pat.findall(open(os.path.join(dirpath, f)).read()):
                rel = os.path.relpath(dirpath, reg).split(os.sep)
                out.add((rel[0], rel[1], kind))
    out.add(("core", "rangeallocations", "RangeAllocation"))
    return out


def main():
    cache = modcache()
    rows = []
    for release, api_version in sorted(releases().items(), key=lambda r: tuple(map(int, r[0].split(".")))):
        kdir = kubernetes_dir(cache, release)
        if kdir is None:
            sys.exit(f"k8s.io/kubernetes {release}.x is not in {cache}: go mod download it")
        api_dir = os.path.join(cache, "k8s.io", f"api@{api_version}")
        groups = group_names(api_dir)
        kinds = stored(kdir)
        for gdir, resource, kind in sorted(kinds):
            if gdir not in groups:
                continue
            sv = storage_version(kdir, gdir, kind)
            for version, names in proto_kinds(api_dir, gdir).items():
                if kind in names:
                    av = f"{groups[gdir]}/{version}" if groups[gdir] else version
                    rows.append((release, av, kind, "storage" if version == sv else "candidate"))
        for module, gdir, group, kind in EXTRA:
            apis = os.path.join(cache, "k8s.io", f"{module}@{api_version}", "pkg/apis")
            for version, names in proto_kinds(apis, gdir).items():
                if kind in names:
                    rows.append((release, f"{group}/{version}", kind, "candidate"))
    with open(OUT, "w") as f:
        f.write(
            "# Written by tools/k8s-descgen/stored_kinds.py from k8s.io/kubernetes' sources: per\n"
            "# release, each (apiVersion, kind) kube-apiserver may have stored, `storage` where the\n"
            "# release's storage-version rule (override, else the group's first version) picks it.\n"
            "# release\tapiVersion\tkind\trole\n"
        )
        for r in rows:
            f.write("\t".join(r) + "\n")
    print(f"wrote {len(rows)} rows to {OUT}")


main()
