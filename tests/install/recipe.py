#!/usr/bin/env python3
"""Runs a docs page's manual recipe the way its CI would run the job's commands.

  recipe.py PAGE.md --sh SHELL --installer URL

The recipe is the page's first fenced block that installs the binary (`install.sh`) and runs
`setup`. A `yaml` block is a job: its variables (`variables:`, `env:`, `environment:`, as a
mapping or `NAME=value` items) become the environment, and its commands (`before_script:`,
`script:`, `commands:`, `command:`, `run:`, in the order written) run as one script under SHELL
with `-e`, as GitLab, Bitbucket, CircleCI and Codefresh run a job's lines. An `sh` block runs as
it is. Only one thing is changed from what a user pastes: the installer's GitHub URL becomes
URL (the loopback stand-in for raw.githubusercontent.com); the release files come from the
mirror in AWS_CI_CREDS_BASE_URL, as for any mirror user. Buildkite's `$$` (its escape for `$`)
is undone. After an `sh` block, `aws --profile ci sts get-caller-identity` runs as the job's
next command. The job's own environment (CI variables, the ID token) is this process's environment.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import yaml

INSTALLER = re.compile(r"https://raw\.githubusercontent\.com/[^ ]+/scripts/install\.sh")


def blocks(text):
    """(language, body) of each fenced block."""
    out, lang, body = [], None, []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```"):
            if lang is None:
                lang, body, indent = stripped[3:].strip() or "text", [], len(line) - len(line.lstrip())
            else:
                out.append((lang, "\n".join(body)))
                lang = None
        elif lang is not None:
            body.append(line[indent:] if line[:indent].strip() == "" else line)
    return out


def job_parts(node, env, commands):
    """Walks a YAML job in document order, collecting variables and command lines."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("variables", "env", "environment"):
                items = value.items() if isinstance(value, dict) else (
                    str(v).split("=", 1) for v in value or [])
                for name, val in items:
                    env[str(name)] = str(val)
            elif key in ("before_script", "script", "commands", "command", "run"):
                if isinstance(value, str):
                    commands.append(value)
                elif isinstance(value, list):
                    for item in value:
                        if isinstance(item, str):
                            commands.append(item)
                        else:
                            job_parts(item, env, commands)
            else:
                job_parts(value, env, commands)
    elif isinstance(node, list):
        for item in node:
            job_parts(item, env, commands)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("page")
    p.add_argument("--sh", required=True)
    p.add_argument("--installer", required=True)
    args = p.parse_args()
    with open(args.page, encoding="utf-8") as f:
        found = [(lang, body) for lang, body in blocks(f.read())
                 if "install.sh" in body and "setup --profile" in body]
    if not found:
        print(f"recipe: {args.page} has no block that installs the binary and runs setup", file=sys.stderr)
        return 3
    lang, body = found[0]
    env = dict(os.environ)
    if lang == "yaml":
        job_env, commands = {}, []
        job_parts(yaml.safe_load(body), job_env, commands)
        if "buildkite" in args.page:
            commands = [c.replace("$$", "$") for c in commands]
        env.update(job_env)
        script = "\n".join(commands)
    elif lang == "sh":
        # A shell block ends at the set-up; the job's next command is the proof.
        script = body + "\naws --profile ci sts get-caller-identity"
    else:
        print(f"recipe: {args.page}: a {lang} block cannot be run here", file=sys.stderr)
        return 3
    script = INSTALLER.sub(args.installer, script)
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write(script + "\n")
    try:
        print(f"## {args.page} ({lang}):\n{script}", file=sys.stderr, flush=True)
        return subprocess.run([args.sh, "-e", f.name], env=env, cwd=env.get("HOME")).returncode
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    sys.exit(main())
