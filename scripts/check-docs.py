#!/usr/bin/env python3
"""The docs check (run by scripts/test.sh, so by CI).

1. Every relative link in the project's Markdown files resolves: the file exists, and an
   `#anchor` into a Markdown file names one of its headings (GitHub's slugs).
2. Every command in a shell block names a program that exists: a script or file of the
   repository, a binary this workspace builds, a cargo package or alias of the workspace, or
   one of the system tools the docs use.
3. The README's two commands are the ones CI runs: its test command is the command `.ci/run`
   ends with, and its generate command's arguments run through the built `neume` binary
   (`--neume PATH`; skipped without it) and write a MIDI file.

Exits non-zero with one line per problem, naming the file and line.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Programs the docs may call that are not the repository's own.
SYSTEM_TOOLS = {
    "cargo", "bash", "sh", "python3", "cp", "mkdir", "git", "wine", "taskset", "cd", "export",
    "ls", "for", "do", "done", "echo", "sudo", "apt-get", "rustup", "hyperfine", "valgrind",
    "perf", "cat", "rm", "mv", "unzip", "time", "/usr/bin/time", "xvfb-run", "Xvfb", "env",
    "ardour7-lua", "clap-validator", "validator", "if", "then", "fi", "else", "test", "[",
    "wc", "head", "tail", "grep", "sed", "diff", "cmp", "sha256sum", "du", "nproc", "pip",
    "true", "wait", "tar", "ln", "find", "sort", "uniq", "awk", "xargs", "tee", "timeout",
}
# Binaries this workspace builds (and their Windows names).
WORKSPACE_BINARIES = {"neume", "neume-train", "neume.exe", "neume-train.exe", "xtask"}
WORKSPACE_PACKAGES = {"neume", "neume-train", "xtask"}
CARGO_ALIASES = {"xtask"}
CARGO_SUBCOMMANDS = {
    "run", "build", "test", "check", "bench", "fmt", "clippy", "doc", "nextest", "tree",
    "xtask", "fuzz", "update",
}


def markdown_files():
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    return sorted(f for f in out if os.path.isfile(os.path.join(ROOT, f)))


def strip_code(text):
    """The text with fenced blocks and inline code blanked (same line count)."""
    lines, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            lines.append("")
            continue
        lines.append("" if fenced else re.sub(r"`[^`]*`", "``", line))
    return lines


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    found = set()
    # Slugs computed with inline code kept (GitHub keeps the code's text).
    counts = {}
    fenced = False
    for line in open(path, encoding="utf-8").read().split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(2).replace("`", ""))
            n = counts.get(base, 0)
            counts[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def check_links(path, problems):
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    for number, line in enumerate(strip_code(text), start=1):
        for m in re.finditer(r"!?\[[^\]]*\]\(([^)\s]+)\)", line):
            target = m.group(1)
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
                continue  # http:, https:, mailto:
            file_part, _, fragment = target.partition("#")
            if file_part:
                resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part))
            else:
                resolved = path
            full = os.path.join(ROOT, resolved)
            if not os.path.exists(full):
                problems.append(f"{path}:{number}: link to {target}: {resolved} does not exist")
                continue
            if fragment and resolved.endswith(".md") and fragment not in anchors(full):
                problems.append(f"{path}:{number}: link to {target}: no heading #{fragment}")


def shell_blocks(text):
    """(first line number, [lines]) of each ```sh / ```bash block."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if current is None and re.match(r"^```(sh|bash|shell|console)\s*$", stripped):
            current, start = [], number + 1
        elif current is not None and stripped.startswith("```"):
            blocks.append((start, current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def commands(lines, start):
    """(line number, command text) of each command, continuations joined, comments dropped."""
    out, pending, pending_at = [], "", start
    for offset, line in enumerate(lines):
        number = start + offset
        code = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        code = code.rstrip()
        if not pending:
            pending_at = number
        if code.endswith("\\"):
            pending += code[:-1] + " "
            continue
        pending += code
        if pending.strip():
            out.append((pending_at, pending.strip()))
        pending = ""
    if pending.strip():
        out.append((pending_at, pending.strip()))
    return out


def program_problem(words, variables):
    """Why the command's program does not exist, or None."""
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        name, _, value = words.pop(0).partition("=")
        variables[name] = value
    if not words:
        return None
    program = words[0]
    m = re.match(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$", program)
    if m:
        if m.group(1) not in variables:
            return f"{program} is never set on this page"
        program = variables[m.group(1)]
    if program in SYSTEM_TOOLS:
        if program in ("bash", "sh", "python3") and len(words) > 1:
            script = words[1]
            if not script.startswith("-") and not os.path.isfile(os.path.join(ROOT, script)):
                return f"script {script} does not exist"
        if program == "cargo" and len(words) > 1:
            sub = words[1]
            if sub.startswith("+") or sub.startswith("-"):
                return None
            if sub not in CARGO_SUBCOMMANDS and sub not in CARGO_ALIASES:
                return f"cargo {sub} is neither a cargo command nor an alias here"
            for flag in ("-p", "--package"):
                for i, w in enumerate(words[:-1]):
                    if w == flag and words[i + 1] not in WORKSPACE_PACKAGES:
                        return f"package {words[i + 1]} is not in the workspace"
        return None
    base = os.path.basename(program)
    if base in WORKSPACE_BINARIES and ("target/" in program or "/" not in program):
        return None
    if "/" in program and os.path.exists(os.path.join(ROOT, program)):
        return None
    if program.startswith("target/"):
        return None if base in WORKSPACE_BINARIES else f"{program} is not a binary this workspace builds"
    return f"{program} is neither a file here, a workspace binary nor a known tool"


def check_commands(path, problems):
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    variables = {}
    for start, lines in shell_blocks(text):
        for number, command in commands(lines, start):
            for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", command):
                try:
                    words = shlex.split(part, posix=True)
                except ValueError:
                    words = part.split()
                problem = program_problem(list(words), variables)
                if problem:
                    problems.append(f"{path}:{number}: `{part}`: {problem}")


def readme_two_commands(problems, neume):
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("## Two commands", 1)
    if len(section) < 2:
        problems.append("README.md: no '## Two commands' section")
        return
    body = section[1].split("\n## ", 1)[0]
    found = [cmds for _, lines in shell_blocks(body) for cmds in commands(lines, 0)]
    if len(found) != 2:
        problems.append(f"README.md: 'Two commands' holds {len(found)} commands, not 2")
        return
    generate, test = found[0][1], found[1][1]
    ci = open(os.path.join(ROOT, ".ci/run"), encoding="utf-8").read().strip().split("\n")
    last = ci[-1].strip()
    if last.startswith("exec "):
        last = last[len("exec "):]
    if last != test:
        problems.append(f"README.md: the test command `{test}` is not what .ci/run runs (`{last}`)")
    prefix = "cargo run --release -- "
    if not generate.startswith(prefix):
        problems.append(f"README.md: the first command `{generate}` is not `{prefix}…`")
        return
    if neume is None:
        print("check-docs: no --neume binary given; the README's generate command is not run")
        return
    args = shlex.split(generate[len(prefix):])
    with tempfile.TemporaryDirectory() as folder:
        neume = os.path.abspath(neume)
        result = subprocess.run([neume] + args, cwd=folder, capture_output=True, text=True)
        out = [a for i, a in enumerate(args) if i > 0 and args[i - 1] == "--out"]
        written = out and os.path.isfile(os.path.join(folder, out[0]))
        if result.returncode != 0 or not written:
            problems.append(
                f"README.md: `{generate}` failed through {neume} "
                f"(exit {result.returncode}): {result.stderr.strip()[:300]}"
            )
        else:
            with open(os.path.join(folder, out[0]), "rb") as f:
                if f.read(4) != b"MThd":
                    problems.append(f"README.md: `{generate}` wrote no MIDI file")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neume", help="the built neume binary, to run the README's command")
    args = parser.parse_args()
    problems = []
    files = markdown_files()
    for path in files:
        check_links(path, problems)
        check_commands(path, problems)
    readme_two_commands(problems, args.neume)
    for p in problems:
        print(p)
    print(f"check-docs: {len(files)} Markdown files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
