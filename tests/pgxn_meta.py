#!/usr/bin/env python3
"""Checks META.json against the PGXN Meta Spec v1.0.0 (https://pgxn.org/spec/) and the project's one
version: snowflake.control's default_version, which META.json and debian/changelog must carry.

    python3 tests/pgxn_meta.py [ROOT]      exit 0 when valid; one line per problem otherwise

There is no Debian package of PGXN::Meta::Validator; this is a small checker of the spec's rules
(required keys, unknown keys, terms, semantic versions, licenses, provides, prereqs, meta-spec),
written from the spec's text and the JSON schemas the PGXN project publishes for v1.
"""
import json
import os
import re
import sys

# https://semver.org's suggested expression, as the spec's version schema uses it.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
LICENSES = {
    "agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd", "gfdl_1_2",
    "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1",
    "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source", "restricted",
    "unrestricted", "unknown"}
TOP_KEYS = {"name", "version", "abstract", "maintainer", "license", "provides", "meta-spec", "description",
            "generated_by", "tags", "no_index", "prereqs", "release_status", "resources"}
REQUIRED = ["name", "version", "abstract", "maintainer", "license", "provides", "meta-spec"]
PHASES = {"configure", "build", "test", "runtime", "develop"}
RELATIONS = {"requires", "recommends", "suggests", "conflicts"}
URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$")


def custom(key):
    return re.match(r"^[xX]_.", key) is not None


def is_term(s):  # at least two characters, no slash, backslash, white space or control character
    return isinstance(s, str) and len(s) >= 2 and not re.search(r"[/\\\s\x00-\x1f\x7f]", s)


def is_text(s):
    return isinstance(s, str) and len(s) > 0


def is_path(s):  # relative, unix conventions
    return is_text(s) and "\\" not in s and not s.startswith("/")


def version_range(v):
    if v == 0 or v == "0":
        return True
    if not isinstance(v, str):
        return False
    for part in v.split(","):
        m = re.match(r"^\s*(?:(==|!=|<=|>=|<|>)\s*)?(\S+)\s*$", part)
        if not m or not SEMVER.match(m.group(2)):
            return False
    return True


def check_spec(meta):
    """Problems of META.json against the PGXN Meta Spec v1.0.0, as a list of strings."""
    errs = []
    if not isinstance(meta, dict):
        return ["the document is not a JSON object"]
    for k in REQUIRED:
        if k not in meta:
            errs.append(f"required key {k!r} is missing")
    for k in meta:
        if k not in TOP_KEYS and not custom(k):
            errs.append(f"unknown key {k!r} (custom keys start with x_)")
    if "name" in meta and not is_term(meta["name"]):
        errs.append(f"name {meta['name']!r} is not a term")
    if "version" in meta and not (isinstance(meta["version"], str) and SEMVER.match(meta["version"])):
        errs.append(f"version {meta['version']!r} is not a semantic version (x.y.z)")
    for k in ("abstract", "description", "generated_by"):
        if k in meta and not is_text(meta[k]):
            errs.append(f"{k} must be a non-empty string")
    if "maintainer" in meta:
        m = meta["maintainer"]
        if not (is_text(m) or (isinstance(m, list) and m and all(is_text(x) for x in m))):
            errs.append("maintainer must be a non-empty string or a non-empty list of them")
    if "license" in meta:
        lic = meta["license"]
        if isinstance(lic, str):
            ok = lic in LICENSES
        elif isinstance(lic, list):
            ok = bool(lic) and all(isinstance(x, str) and x in LICENSES for x in lic)
        elif isinstance(lic, dict):
            ok = bool(lic) and all(isinstance(u, str) and URI.match(u) for u in lic.values())
        else:
            ok = False
        if not ok:
            errs.append(f"license {lic!r} is neither a name from the spec's list, a list of them, nor names mapped to URIs")
    if "provides" in meta:
        p = meta["provides"]
        if not (isinstance(p, dict) and p):
            errs.append("provides must be a non-empty object")
        else:
            for ext, d in p.items():
                if not is_term(ext):
                    errs.append(f"provides: {ext!r} is not a term")
                if not isinstance(d, dict):
                    errs.append(f"provides.{ext} must be an object")
                    continue
                for k in ("file", "version"):
                    if k not in d:
                        errs.append(f"provides.{ext}.{k} is missing")
                for k in d:
                    if k not in ("file", "version", "abstract", "docfile") and not custom(k):
                        errs.append(f"provides.{ext}: unknown key {k!r}")
                for k in ("file", "docfile"):
                    if k in d and not is_path(d[k]):
                        errs.append(f"provides.{ext}.{k} must be a relative unix path")
                if "version" in d and not (isinstance(d["version"], str) and SEMVER.match(d["version"])):
                    errs.append(f"provides.{ext}.version {d['version']!r} is not a semantic version")
                if "abstract" in d and not is_text(d["abstract"]):
                    errs.append(f"provides.{ext}.abstract must be a non-empty string")
    if "meta-spec" in meta:
        ms = meta["meta-spec"]
        if not isinstance(ms, dict):
            errs.append("meta-spec must be an object")
        else:
            if not (isinstance(ms.get("version"), str) and re.match(r"^1\.0\.\d+$", ms["version"])):
                errs.append(f"meta-spec.version {ms.get('version')!r} is not 1.0.x")
            if "url" in ms and ms["url"] not in ("https://pgxn.org/meta/spec.txt", "http://pgxn.org/meta/spec.txt"):
                errs.append(f"meta-spec.url {ms['url']!r} is not the spec's URL")
            for k in ms:
                if k not in ("version", "url") and not custom(k):
                    errs.append(f"meta-spec: unknown key {k!r}")
    if "prereqs" in meta:
        pr = meta["prereqs"]
        if not (isinstance(pr, dict) and pr):
            errs.append("prereqs must be a non-empty object")
        else:
            for phase, rels in pr.items():
                if custom(phase):
                    continue
                if phase not in PHASES:
                    errs.append(f"prereqs: unknown phase {phase!r}")
                    continue
                if not (isinstance(rels, dict) and rels):
                    errs.append(f"prereqs.{phase} must be a non-empty object")
                    continue
                for rel, deps in rels.items():
                    if custom(rel):
                        continue
                    if rel not in RELATIONS:
                        errs.append(f"prereqs.{phase}: unknown relationship {rel!r}")
                        continue
                    if not (isinstance(deps, dict) and deps):
                        errs.append(f"prereqs.{phase}.{rel} must be a non-empty object")
                        continue
                    for name, rng in deps.items():
                        if not is_term(name):
                            errs.append(f"prereqs.{phase}.{rel}: {name!r} is not a term")
                        if not version_range(rng):
                            errs.append(f"prereqs.{phase}.{rel}.{name}: {rng!r} is not a version range")
    if "release_status" in meta and meta["release_status"] not in ("stable", "testing", "unstable"):
        errs.append(f"release_status {meta['release_status']!r} is not stable, testing or unstable")
    if "tags" in meta:
        t = meta["tags"]
        if not (isinstance(t, list) and t and all(
                isinstance(x, str) and 2 <= len(x) <= 255 and not re.search(r"[/\\\x00-\x1f\x7f]", x) for x in t)):
            errs.append("tags must be a non-empty list of strings of 2-255 characters without / or \\")
    if "no_index" in meta:
        ni = meta["no_index"]
        if not (isinstance(ni, dict) and ni and all(
                (k in ("file", "directory") and (is_text(v) or (isinstance(v, list) and v and all(map(is_text, v)))))
                or custom(k) for k, v in ni.items())):
            errs.append("no_index must map file and/or directory to a path or a list of paths")
    if "resources" in meta:
        r = meta["resources"]
        if not (isinstance(r, dict) and r):
            errs.append("resources must be a non-empty object")
        else:
            for k, v in r.items():
                if custom(k):
                    continue
                if k == "homepage":
                    ok = isinstance(v, str) and URI.match(v)
                elif k == "bugtracker":
                    ok = isinstance(v, dict) and v and all(k2 in ("web", "mailto") or custom(k2) for k2 in v)
                elif k == "repository":
                    ok = isinstance(v, dict) and v and all(k2 in ("url", "web", "type") or custom(k2) for k2 in v)
                else:
                    ok = False
                if not ok:
                    errs.append(f"resources.{k} is not valid")
    return errs


def semver_of(control_version):
    """'1.1' -> '1.1.0': PostgreSQL extension versions are free text; PGXN wants x.y.z."""
    parts = control_version.split(".")
    if not all(p.isdigit() for p in parts) or not 1 <= len(parts) <= 3:
        return None
    return ".".join(str(int(p)) for p in parts + ["0"] * (3 - len(parts)))


# The project's one license as each file names it: META.json (a name of the spec's list), the title
# line of LICENSE, and debian/copyright's short name (Debian's copyright format) for Files: *.
LICENSE_META, LICENSE_TITLE, LICENSE_DEBIAN = "postgresql", "PostgreSQL License", "PostgreSQL"


def check_license(root, meta):
    errs = []
    if meta.get("license") != LICENSE_META:
        errs.append(f"META.json license {meta.get('license')!r} is not the project's {LICENSE_META!r}")
    try:
        with open(os.path.join(root, "LICENSE")) as f:
            title = f.readline().strip()
        if title != LICENSE_TITLE:
            errs.append(f"LICENSE starts with {title!r}, not {LICENSE_TITLE!r}")
    except OSError as e:
        errs.append(f"LICENSE: {e.strerror}")
    copyright_file = os.path.join(root, "debian", "copyright")
    if os.path.exists(copyright_file):
        with open(copyright_file) as f:
            stanza = re.search(r"^Files: \*\n(?:[^\n]+\n)*?License: (\S+)", f.read(), re.M)
        name = stanza.group(1) if stanza else None
        if name != LICENSE_DEBIAN:
            errs.append(f"debian/copyright licenses Files: * under {name!r}, not {LICENSE_DEBIAN!r}")
    return errs


def check_project(root, meta):
    """The project's own rules: one version (the control file's), one license, files that exist."""
    errs = check_license(root, meta)
    with open(os.path.join(root, "snowflake.control")) as f:
        m = re.search(r"^default_version\s*=\s*'([^']*)'", f.read(), re.M)
    if not m:
        return ["snowflake.control has no default_version"]
    want = semver_of(m.group(1))
    if want is None:
        return [f"default_version {m.group(1)!r} has no semantic-version form"]
    if meta.get("version") != want:
        errs.append(f"META.json version {meta.get('version')!r} is not default_version {m.group(1)!r} as {want!r}")
    ext = meta.get("provides", {}).get("snowflake") if isinstance(meta.get("provides"), dict) else None
    if not isinstance(ext, dict):
        errs.append("META.json provides no extension 'snowflake'")
    else:
        if ext.get("version") != want:
            errs.append(f"provides.snowflake.version {ext.get('version')!r} is not {want!r}")
        for k in ("file", "docfile"):
            if is_path(ext.get(k)) and not os.path.isfile(os.path.join(root, ext[k])):
                errs.append(f"provides.snowflake.{k} {ext[k]!r} does not exist")
    changelog = os.path.join(root, "debian", "changelog")
    if os.path.exists(changelog):
        with open(changelog) as f:
            top = re.match(r"^\S+ \(([^)]*)\)", f.readline())
        upstream = top.group(1).rsplit("-", 1)[0] if top else None
        if upstream != m.group(1):
            errs.append(f"debian/changelog's newest version {top.group(1) if top else None!r} is not {m.group(1)}-N")
    return errs


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    try:
        with open(os.path.join(root, "META.json")) as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        print(f"META.json: {e}")
        return 1
    errs = check_spec(meta)
    errs += check_project(root, meta) if isinstance(meta, dict) else []
    for e in errs:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
