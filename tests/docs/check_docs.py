#!/usr/bin/env python3
"""Checks that the documentation's code cannot go stale (README.md and docs/**/*.md).

  check_docs.py blocks ROOT                 fast, no compiler: every fenced block is either C++ with a
                                            compiled home that contains it, or marked as not C++;
                                            quoted diagnostics agree with the compile-fail tier; links
                                            to files and headings resolve
  check_docs.py output ROOT --cxx CXX [-- FLAG...]
                                            compiles each file named by an "compiler output" marker and
                                            compares the block with the compiler's first lines
  check_docs.py self-test                   runs the checks on made-up documents that must fail

The rules, as a writer of the docs meets them:

* Every fence names its language. ```cpp (also c++, cxx, cc, hpp, h) is C++ and needs a home; anything
  else (```text for output and pseudo-code, ```sh, ```cmake, ```python, ...) is not checked as C++.
* A C++ block names its home, a file the build compiles, either on its first line,
      // examples/docs/training.cpp
  (optionally followed by a remark: `// examples/docs/readme.cpp (with -DLATENT_SHOULD_FAIL)`), or with
  an HTML comment on the line above the fence:
      <!-- compiled: examples/conv_vae_fashion_mnist.cpp -->
  The home is a .cpp under examples/, tests/ or benchmarks/ whose name a CMakeLists.txt in its folder
  mentions, or a header under include/ (every header is compiled on its own by tests/headers).
* The block's lines appear in the home in the same order, each compared without its leading and
  trailing white space; blank lines do not count. Consecutive lines of the block must be consecutive
  in the home, except across a line that is only `...` or `// ...`, which stands for lines left out.
* A ```text block under `<!-- compile_fail: RULE -->` quotes the first lines of a compile-fail case:
  it must contain the carrier line and the sentence that tests/compile_fail/CMakeLists.txt expects
  for RULE (that test compiles the case and checks the compiler prints them).
* A ```text block under `<!-- compiler output: FILE [-DNAME...] -->` is the compiler's output for FILE
  (compiled from ROOT with -Iinclude): `output` mode compiles it and compares, line numbers aside.
* Links [text](path) and [text](path#heading) resolve to files and headings.
"""

import os
import re
import subprocess
import sys
import tempfile

CPP_LANGUAGES = {"cpp", "c++", "cxx", "cc", "hpp", "h", "c"}
HOME_LINE = re.compile(r"^//\s*((?:examples|tests|benchmarks|include)/\S+\.(?:cpp|cc|hpp|h))\b")
COMPILED_MARK = re.compile(r"^<!--\s*compiled:\s*(\S+)\s*-->$")
COMPILE_FAIL_MARK = re.compile(r"^<!--\s*compile_fail:\s*(\w+)\s*-->$")
OUTPUT_MARK = re.compile(r"^<!--\s*compiler output:\s*(\S+)((?:\s+-D\S+)*)\s*-->$")
# A fence: three or more backticks or tildes; a backtick fence's info string has no backtick (CommonMark),
# so a line such as "```` ```text ```` is ..." is text, not a fence.
FENCE = re.compile(r"^(\s*)(`{3,}(?=[^`]*$)|~{3,})\s*([^\s`]*)")
ELISION = {"...", "// ...", "/* ... */"}


class Block:
    def __init__(self, doc, line, language, lines, marker):
        self.doc, self.line, self.language, self.lines, self.marker = doc, line, language, lines, marker

    def where(self):
        first = next((l.strip() for l in self.lines if l.strip()), "(empty)")
        return f"{self.doc}:{self.line}: the ```{self.language} block starting '{first[:70]}'"


def documents(root):
    """README.md and every .md under docs/, as paths relative to root."""
    docs = ["README.md"] if os.path.isfile(os.path.join(root, "README.md")) else []
    for folder, _, files in sorted(os.walk(os.path.join(root, "docs"))):
        docs += sorted(os.path.relpath(os.path.join(folder, f), root) for f in files if f.endswith(".md"))
    return docs


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")


def parse_blocks(root, doc, errors):
    """The fenced blocks of one document, with the marker on the line above each (if any)."""
    lines = read_lines(os.path.join(root, doc))
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, language, start = m.group(2), m.group(3), i
        prev = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = prev if prev.startswith("<!--") else None
        body, i = [], i + 1
        while i < len(lines) and not (lines[i].strip().startswith(fence[0] * len(fence)) and
                                      set(lines[i].strip()) == {fence[0]}):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            errors.append(f"{doc}:{start + 1}: a ``` fence that is never closed")
        blocks.append(Block(doc, start + 1, language.lower(), body, marker))
        i += 1
    return blocks


def stripped(lines, first_number=1):
    """(line number, text without surrounding white space) of the non-blank lines."""
    return [(n, l.strip()) for n, l in enumerate(lines, first_number) if l.strip()]


def segments(lines):
    """The block's lines split at elision lines: each segment must be consecutive in the home."""
    out, current = [], []
    for n, text in lines:
        if text in ELISION:
            if current:
                out.append(current)
            current = []
        else:
            current.append((n, text))
    if current:
        out.append(current)
    return out


def find_segments(segs, home):
    """Matches the segments in order, each at its earliest place (greedy is optimal for this).

    Returns None when all match, else (segment index, the doc line that differs, the home's closest line)."""
    cursor = 0
    for k, seg in enumerate(segs):
        found = None
        for start in range(cursor, len(home) - len(seg) + 1):
            if all(home[start + j][1] == seg[j][1] for j in range(len(seg))):
                found = start
                break
        if found is None:
            # The longest partial match after the cursor, to say which line differs.
            best, best_len = None, -1
            for start in range(cursor, len(home)):
                j = 0
                while j < len(seg) and start + j < len(home) and home[start + j][1] == seg[j][1]:
                    j += 1
                if j > best_len:
                    best, best_len = start, j
            if best is None or best_len == 0:
                return k, seg[0], None
            near = home[best + best_len] if best + best_len < len(home) else None
            return k, seg[best_len] if best_len < len(seg) else seg[-1], near
        cursor = found + len(seg)
    return None


def is_compiled(root, home):
    """A home is a file the build compiles: a header, or a source its folder's CMakeLists.txt names."""
    if home.startswith("include/"):
        return True, ""
    folder, name = os.path.split(home)
    stem = os.path.splitext(name)[0]
    cmake = os.path.join(root, folder, "CMakeLists.txt")
    if not os.path.isfile(cmake):
        return False, f"{folder}/CMakeLists.txt does not exist"
    text = open(cmake, encoding="utf-8").read()
    if re.search(r"(?<![\w.])" + re.escape(stem) + r"(?![\w])", text):
        return True, ""
    return False, f"{folder}/CMakeLists.txt does not mention {stem}"


def compile_fail_expectations(root):
    """RULE -> (carrier regex, sentence) from tests/compile_fail/CMakeLists.txt."""
    path = os.path.join(root, "tests", "compile_fail", "CMakeLists.txt")
    if not os.path.isfile(path):
        return {}
    text = open(path, encoding="utf-8").read()
    out = {}
    for m in re.finditer(r"^latent_compile_fail\((\w+)(.*?)\)\s*$", text, re.S | re.M):
        rule, args = m.group(1), m.group(2)
        carrier = re.search(r"CARRIER\s+(\w+)", args)
        targs = re.search(r'ARGS\s+"((?:[^"\\]|\\.)*)"', args)
        sentence = re.search(r'SENTENCE\s+"((?:[^"\\]|\\.)*)"', args)
        if carrier and targs and sentence:
            out[rule] = (carrier.group(1), targs.group(1).replace('\\"', '"'), sentence.group(1).replace('\\"', '"'))
    return out


def github_slugs(root, doc):
    """The anchors GitHub gives a document's headings."""
    slugs, seen, in_fence = set(), {}, False
    for line in read_lines(os.path.join(root, doc)):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        m = None if in_fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        text = re.sub(r"\]\([^)]*\)|`|\*\*|\[", "", m.group(1))  # markup, not text
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        slugs.add(slug if n == 0 else f"{slug}-{n}")
    return slugs


def check_links(root, doc, errors):
    in_fence = False
    for number, line in enumerate(read_lines(os.path.join(root, doc)), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        line = re.sub(r"`[^`]*`", "", line)  # code spans are not links
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
            if not os.path.exists(os.path.join(root, file)):
                errors.append(f"{doc}:{number}: the link '{target}' points to {file}, which does not exist")
            elif anchor and file.endswith(".md") and anchor not in github_slugs(root, file):
                errors.append(f"{doc}:{number}: the link '{target}': {file} has no heading with the anchor #{anchor}")


def check_cpp_block(root, block, errors):
    home, body = None, block.lines
    if block.marker:
        m = COMPILED_MARK.match(block.marker)
        if m:
            home = m.group(1)
    if home is None:
        first = next((l.strip() for l in body if l.strip()), "")
        m = HOME_LINE.match(first)
        if m:
            home = m.group(1)
            index = next(i for i, l in enumerate(body) if l.strip())
            body = body[:index] + [""] + body[index + 1:]  # the home line is not part of the excerpt
    if home is None:
        errors.append(f"{block.where()} has no compiled home: begin it with a line '// examples/docs/<page>.cpp' "
                      "naming a file the build compiles that contains it, or put "
                      "'<!-- compiled: <file> -->' above the fence; output and pseudo-code go in ```text")
        return
    path = os.path.join(root, home)
    if not os.path.isfile(path):
        errors.append(f"{block.where()} names its home {home}, which does not exist")
        return
    ok, why = is_compiled(root, home)
    if not ok:
        errors.append(f"{block.where()} names its home {home}, which the build does not compile ({why})")
        return
    segs = segments(stripped(body, block.line + 1))
    if not segs:
        errors.append(f"{block.where()} is empty")
        return
    miss = find_segments(segs, stripped(read_lines(path)))
    if miss:
        k, (n, text), near = miss
        where = (f"; the closest place in {home} is line {near[0]}: '{near[1]}'" if near else
                 f"; {home} has no such line after the block's earlier lines" if k else f"; {home} has no such line")
        errors.append(f"{block.where()} is not an excerpt of its home {home}: line {block.doc}:{n} '{text}' "
                      f"does not follow in order{where}. Copy the lines from the home (leading white space "
                      "may differ), or mark left-out lines with '// ...'")


def check_compile_fail_block(root, block, rule, expectations, errors):
    if rule not in expectations:
        errors.append(f"{block.where()} quotes the compile-fail case '{rule}', which "
                      "tests/compile_fail/CMakeLists.txt does not declare")
        return
    carrier, args, sentence = expectations[rule]
    text = "\n".join(block.lines)
    carrier_re = r"In instantiation of .struct latent::diag::" + carrier + "<" + args + ">.:"
    if not re.search(carrier_re, text):
        errors.append(f"{block.where()} quotes the compile-fail case '{rule}' but has no line matching what its "
                      f"test expects: {carrier_re}")
    if "error: static assertion failed: latent: " + sentence not in text:
        errors.append(f"{block.where()} quotes the compile-fail case '{rule}' but not its sentence "
                      f"'error: static assertion failed: latent: {sentence}'")


def check_blocks(root):
    errors = []
    expectations = compile_fail_expectations(root)
    count = {"cpp": 0, "other": 0}
    for doc in documents(root):
        for block in parse_blocks(root, doc, errors):
            if not block.language:
                errors.append(f"{block.where()} has no language: write ```cpp (with a compiled home), or ```text, "
                              "```sh, ```cmake, ... for what is not C++")
                continue
            if block.language in CPP_LANGUAGES:
                count["cpp"] += 1
                check_cpp_block(root, block, errors)
                continue
            count["other"] += 1
            m = block.marker and COMPILE_FAIL_MARK.match(block.marker)
            if m:
                check_compile_fail_block(root, block, m.group(1), expectations, errors)
            m = block.marker and OUTPUT_MARK.match(block.marker)
            if m and not os.path.isfile(os.path.join(root, m.group(1))):
                errors.append(f"{block.where()} quotes the output of compiling {m.group(1)}, which does not exist")
        check_links(root, doc, errors)
    return errors, count


def normalise(line):
    """Compiler output without what moves when a header gains a line: quotes and line:column numbers."""
    line = line.replace("\u2018", "'").replace("\u2019", "'").strip()
    return re.sub(r":\d+", ":N", line)


def check_output(root, cxx, flags):
    errors, checked, runs = [], 0, {}
    for doc in documents(root):
        for block in parse_blocks(root, doc, errors):
            m = block.marker and OUTPUT_MARK.match(block.marker)
            if not m:
                continue
            checked += 1
            source, defines = m.group(1), m.group(2).split()
            command = [cxx, "-std=c++20", "-fsyntax-only", "-fdiagnostics-color=never", "-Iinclude"] + flags + \
                defines + [source]
            env = dict(os.environ, LC_ALL="C", GCC_COLORS="")
            key = tuple(command)
            if key not in runs:  # one compile per file and defines, however many blocks quote it
                runs[key] = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
            run = runs[key]
            if run.returncode == 0:
                errors.append(f"{block.where()}: '{' '.join(command)}' compiled, but the block quotes its errors")
                continue
            output = [normalise(l) for l in (run.stdout + run.stderr).split("\n")][:40]
            want = segments(stripped(block.lines, block.line + 1))
            cursor = 0
            for k, seg in enumerate(want):
                starts = [0] if k == 0 else range(cursor, len(output) - len(seg) + 1)
                found = next((s for s in starts if all(
                    s + j < len(output) and output[s + j] == normalise(seg[j][1]) for j in range(len(seg)))), None)
                if found is None:
                    printed = (run.stdout + run.stderr).split("\n")
                    last = next((i for i, l in enumerate(printed) if "error:" in l), 7)
                    errors.append(f"{block.where()} no longer matches the first lines of '{' '.join(command)}' "
                                  f"(line numbers aside) from line {doc}:{seg[0][0]}; the compiler now prints:\n  " +
                                  "\n  ".join(printed[:min(last + 1, 20)]))
                    break
                cursor = found + len(seg)
    return errors, checked


def self_test():
    """The checker must fail on each kind of mistake, with a message that names the place."""
    good_doc = ("# Title\n\n## A section\n\n```cpp\n// examples/docs/page.cpp\nint a = 1;\n"
                "int b = 2;\n// ...\nint d = 4;\n```\n\n<!-- compiled: examples/docs/page.cpp -->\n```cpp\n"
                "  int c = 3;\n```\n\n```text\nany output\n```\n\nSee [the section](#a-section) and "
                "[the file](../examples/docs/page.cpp).\n")
    cases = {
        "good": (good_doc, None),
        "no language": ("```\nint a = 1;\n```\n", "has no language"),
        "no home": ("```cpp\nint a = 1;\n```\n", "has no compiled home"),
        "missing home": ("```cpp\n// examples/docs/none.cpp\nint a = 1;\n```\n", "which does not exist"),
        "home not built": ("```cpp\n// examples/docs/loose.cpp\nint a = 1;\n```\n", "does not compile"),
        "changed line": ("```cpp\n// examples/docs/page.cpp\nint a = 1;\nint b = 20;\n```\n",
                         "'int b = 20;' does not follow"),
        "wrong order": ("```cpp\n// examples/docs/page.cpp\nint b = 2;\nint a = 1;\n```\n", "does not follow"),
        "gap without elision": ("```cpp\n// examples/docs/page.cpp\nint a = 1;\nint c = 3;\n```\n",
                                "does not follow"),
        "broken link": ("[x](nowhere.md)\n", "does not exist"),
        "broken anchor": ("# Head\n\n[x](#tail)\n", "no heading with the anchor"),
        "unknown compile_fail rule": ("<!-- compile_fail: nothing -->\n```text\nx\n```\n", "does not declare"),
    }
    failures = 0
    for name, (text, expected) in cases.items():
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "docs"))
            os.makedirs(os.path.join(root, "examples", "docs"))
            with open(os.path.join(root, "examples", "docs", "page.cpp"), "w") as f:
                f.write("int a = 1;\n  int b = 2;\n\nint c = 3;\nint d = 4;\n")
            with open(os.path.join(root, "examples", "docs", "loose.cpp"), "w") as f:
                f.write("int a = 1;\n")
            with open(os.path.join(root, "examples", "docs", "CMakeLists.txt"), "w") as f:
                f.write("add_executable(page page.cpp)\n")
            with open(os.path.join(root, "docs", "page.md"), "w") as f:
                f.write(text)
            errors, _ = check_blocks(root)
            message = "\n".join(errors)
            if expected is None and errors:
                print(f"self-test '{name}': expected no error, found:\n{message}")
                failures += 1
            elif expected is not None and (expected not in message or "docs/page.md:" not in message):
                print(f"self-test '{name}': expected an error containing '{expected}' naming docs/page.md, "
                      f"found: {message or 'none'}")
                failures += 1
    # The output mode, with a stand-in compiler that prints three lines and fails.
    output_cases = {
        "output matches": ("first line:12\n  second\n...\nerror: third:7\n", None),
        "output changed": ("first line:12\nsecond, changed\n", "no longer matches"),
        "output not from the start": ("second\n", "no longer matches"),
    }
    for name, (quoted, expected) in output_cases.items():
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "docs"))
            with open(os.path.join(root, "bad.cpp"), "w") as f:
                f.write("int main() { return x; }\n")
            compiler = os.path.join(root, "fake-cxx")
            with open(compiler, "w") as f:
                f.write("#!/bin/sh\nprintf 'first line:3\\n    second\\nnoise\\nerror: third:9\\n' >&2\nexit 1\n")
            os.chmod(compiler, 0o755)
            with open(os.path.join(root, "docs", "page.md"), "w") as f:
                f.write(f"<!-- compiler output: bad.cpp -DFAIL -->\n```text\n{quoted}```\n")
            errors, checked = check_output(root, compiler, [])
            message = "\n".join(errors)
            if checked != 1 or (expected is None and errors) or (
                    expected is not None and (expected not in message or "docs/page.md:" not in message)):
                print(f"self-test '{name}': expected {expected or 'no error'}, found: {message or 'none'}")
                failures += 1
    total = len(cases) + len(output_cases)
    print(f"check_docs self-test: {total - failures} of {total} cases behave")
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "self-test":
        return self_test()
    if len(argv) >= 3 and argv[1] == "blocks":
        errors, count = check_blocks(argv[2])
        for e in errors:
            print(e)
        print(f"check_docs: {count['cpp']} C++ blocks and {count['other']} other blocks in "
              f"{len(documents(argv[2]))} documents; {len(errors)} problem(s)")
        return 1 if errors else 0
    if len(argv) >= 5 and argv[1] == "output" and argv[3] == "--cxx":
        flags = argv[6:] if len(argv) > 5 and argv[5] == "--" else []
        errors, checked = check_output(argv[2], argv[4], flags)
        for e in errors:
            print(e)
        print(f"check_docs: {checked} quoted compiler output(s) compiled and compared; {len(errors)} problem(s)")
        return 1 if errors or checked == 0 else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
