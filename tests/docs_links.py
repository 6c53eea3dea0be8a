#!/usr/bin/env python3
"""Checks the references into the documentation: every docs page and section that the code (error
hints and comments in src/) names exists, and every relative link of README.md and docs/*.md leads
to a file that exists and, with #anchor, to a heading of that page.

    python3 tests/docs_links.py [ROOT]     exit 0 when all resolve; one line per problem otherwise

The code names a section as: docs/PAGE.md, section "HEADING" (in C++ strings the quotes are
escaped, \\"HEADING\\"); HEADING is a heading's text exactly as written after its #s. No string
in the code (an error hint, say) may point to README for a section: README is short and its
headings are no reference. An anchor is GitHub's: the heading lower-cased, without punctuation
but - and _, spaces as -.
"""
import os
import re
import sys

CODE_REF = re.compile(r'docs/([A-Za-z0-9_.-]+\.md)(?:, section \\?"((?:[^"\\]|\\[^"])+)\\?")?')
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
FENCE = re.compile(r'^\s*(```|~~~)')
CPP_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
SQL_STRING = re.compile(r"'(?:[^']|'')*'")


def headings(path):
    """The headings of a markdown file outside fenced code blocks, as written."""
    out, fenced = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if FENCE.match(line):
                fenced = not fenced
                continue
            m = None if fenced else re.match(r"^#{1,6} +(.*?)\s*#*\s*$", line)
            if m:
                out.append(m.group(1))
    return out


def anchor(heading):
    text = heading.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    for h in headings(path):
        a = anchor(h)
        n = seen.get(a, 0)
        seen[a] = n + 1
        out.add(a if n == 0 else f"{a}-{n}")
    return out


def code_files(root):
    for base, _, files in os.walk(os.path.join(root, "src")):
        for name in sorted(files):
            if name.endswith((".cpp", ".hpp", ".h", ".c", ".sql")):
                yield os.path.join(base, name)


def check_code(root):
    """References to docs pages and sections from the code; returns (problems, count of sections)."""
    errs, sections = [], 0
    for path in code_files(root):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8") as f:
            for no, line in enumerate(f, 1):
                strings = SQL_STRING if path.endswith(".sql") else CPP_STRING
                if "static_assert" not in line and not line.lstrip().startswith(("//", "--", "*", "/*")):
                    for lit in strings.findall(line):
                        if "README" in lit:
                            errs.append(f"{rel}:{no}: a string names README ({lit}): name the docs page and section")
                for m in CODE_REF.finditer(line):
                    page, section = m.group(1), m.group(2)
                    target = os.path.join(root, "docs", page)
                    if not os.path.isfile(target):
                        errs.append(f"{rel}:{no}: docs/{page} does not exist")
                        continue
                    if section is not None:
                        sections += 1
                        section = section.replace('\\"', '"')
                        if section not in headings(target):
                            errs.append(f"{rel}:{no}: docs/{page} has no section \"{section}\"")
    return errs, sections


def check_links(root):
    """Relative links of README.md and docs/*.md; returns (problems, count of links)."""
    errs, count = [], 0
    pages = [os.path.join(root, "README.md")]
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        pages += [os.path.join(docs, n) for n in sorted(os.listdir(docs)) if n.endswith(".md")]
    for page in pages:
        rel = os.path.relpath(page, root)
        fenced = False
        with open(page, encoding="utf-8") as f:
            for no, line in enumerate(f, 1):
                if FENCE.match(line):
                    fenced = not fenced
                if fenced:
                    continue
                for m in LINK.finditer(line):
                    target = m.group(1)
                    if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                        continue
                    count += 1
                    path, _, frag = target.partition("#")
                    dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
                    if not os.path.exists(dest):
                        errs.append(f"{rel}:{no}: link to {target}: {path} does not exist")
                    elif frag and dest.endswith(".md") and frag not in anchors(dest):
                        errs.append(f"{rel}:{no}: link to {target}: {os.path.relpath(dest, root)} has no heading #{frag}")
    return errs, count


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    errs, sections = check_code(root)
    link_errs, links = check_links(root)
    errs += link_errs
    for e in errs:
        print(e)
    print(f"sections named by the code: {sections}; relative links: {links}")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
