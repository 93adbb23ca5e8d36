#!/usr/bin/env python3
"""Runs the shell parts of action.yml and templates/aws-ci-creds.yml the way their CI would.

  ci_harness.py github ACTION_DIR --sh SHELL [--input NAME=VALUE]... --report FILE -- CMD...
  ci_harness.py gitlab TEMPLATE --sh SHELL [--input NAME=VALUE]... --report FILE -- CMD...

github: a composite action's `run:` steps, one after the other, each in a script file run with
SHELL (for `shell: sh`; `bash` steps run with bash), with the runner's per-step GITHUB_ENV and
GITHUB_PATH files applied to the steps after it; then CMD as the workflow's next step. Only the
expressions a composite action can rely on are evaluated (`inputs.*`, `github.action_path`,
`runner.temp`, `runner.os`, `runner.arch`); any other expression, and any `${{ }}` inside a
`run:` body (script injection), is an error.

gitlab: the component's `spec: inputs:` header is interpolated into the jobs the way GitLab does
(`$[[ inputs.NAME ]]`), then the hidden job `.aws-ci-creds`'s variables become the environment,
its `id_tokens:` entry is checked against the token in AWS_CI_CREDS_ID_TOKEN (its `aud`), and
its before_script and CMD run as one script under SHELL, as the runner does.

The job's own environment (CI variables, the ID token) is this process's environment. The report
is JSON: what was exported (github), or the interpolated job (gitlab). Run it with the e2e venv's
python (tests/e2e/.venv): PyYAML comes with the AWS CLI there.
"""
import argparse
import base64
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
GL_EXPR = re.compile(r"\$\[\[\s*(.*?)\s*\]\]")


def fail(msg):
    print(f"ci_harness: {msg}", file=sys.stderr)
    sys.exit(3)


def parse_inputs(pairs):
    out = {}
    for p in pairs:
        name, sep, value = p.partition("=")
        if not sep:
            fail(f"--input {p}: want NAME=VALUE")
        out[name] = value
    return out


def read_env_file(path):
    """GITHUB_ENV syntax: NAME=value lines and NAME<<DELIM heredocs."""
    env = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            value = []
            while i < len(lines) and lines[i] != delim:
                value.append(lines[i])
                i += 1
            i += 1
            env[name] = "\n".join(value)
        elif "=" in line:
            name, value = line.split("=", 1)
            env[name] = value
        else:
            fail(f"malformed GITHUB_ENV line {line!r}")
    return env


def github(args):
    action_dir = os.path.abspath(args.target)
    with open(os.path.join(action_dir, "action.yml"), encoding="utf-8") as f:
        action = yaml.safe_load(f)
    if action.get("runs", {}).get("using") != "composite":
        fail("action.yml is not a composite action")
    declared = action.get("inputs") or {}
    given = parse_inputs(args.input)
    for name in given:
        if name not in declared:
            fail(f"input {name} is not declared in action.yml")
    inputs = {}
    for name, spec in declared.items():
        if name in given:
            inputs[name] = given[name]
        elif "default" in spec:
            inputs[name] = str(spec["default"])
        else:
            # Missing, even when `required: true`: GitHub does not enforce it for an action's
            # inputs, so the action has to check its own.
            inputs[name] = ""

    job_env = dict(os.environ)
    runner_temp = job_env["RUNNER_TEMP"]
    context = {
        "github.action_path": action_dir,
        "runner.temp": runner_temp,
        "runner.os": "Linux",
        "runner.arch": {"x86_64": "X64", "aarch64": "ARM64"}.get(os.uname().machine, "X64"),
    }

    def evaluate(text):
        def sub(m):
            expr = m.group(1)
            if expr.startswith("inputs."):
                name = expr[len("inputs."):]
                if name not in inputs:
                    fail(f"expression {m.group(0)} names an undeclared input")
                return inputs[name]
            if expr in context:
                return context[expr]
            fail(f"expression {m.group(0)} is not supported by this harness")

        return EXPR.sub(sub, str(text))

    exported = {}
    path_entries = []
    log = []
    work = tempfile.mkdtemp(dir=runner_temp, prefix="harness-")
    for n, step in enumerate(action["runs"]["steps"]):
        label = step.get("name", f"step {n}")
        if "uses" in step:
            fail(f"{label}: `uses:` steps are not supported (the action must need no other action)")
        if "if" in step:
            fail(f"{label}: `if:` is not supported by this harness")
        body = step["run"]
        if "${{" in body:
            fail(f"{label}: its run: body has a ${{{{ }}}} expression; pass values through env:")
        shell = step.get("shell")
        script = os.path.join(work, f"step{n}.sh")
        with open(script, "w", encoding="utf-8") as f:
            f.write(body)
        if shell == "sh":
            argv = [args.sh, "-e", script]
        elif shell == "bash":
            argv = ["bash", "--noprofile", "--norc", "-eo", "pipefail", script]
        else:
            fail(f"{label}: shell {shell!r}: use sh (job containers may have no bash)")
        env_file = os.path.join(work, f"env{n}")
        path_file = os.path.join(work, f"path{n}")
        open(env_file, "w").close()
        open(path_file, "w").close()
        env = dict(job_env)
        env.update(exported)
        env["PATH"] = os.pathsep.join(list(reversed(path_entries)) + [job_env["PATH"]])
        env.update({k: evaluate(v) for k, v in (step.get("env") or {}).items()})
        env.update(
            GITHUB_ENV=env_file,
            GITHUB_PATH=path_file,
            GITHUB_ACTION_PATH=action_dir,
            RUNNER_TEMP=runner_temp,
        )
        print(f"## {label}", file=sys.stderr, flush=True)
        # A step's stdout is the job log, like its stderr; only CMD's stdout is this one's.
        rc = subprocess.run(argv, env=env, stdout=sys.stderr).returncode
        log.append({"step": label, "rc": rc})
        if rc != 0:
            print(f"ci_harness: step '{label}' failed with exit {rc}", file=sys.stderr)
            write_report(args.report, {"steps": log, "exported": exported, "path": path_entries})
            return 1
        exported.update(read_env_file(env_file))
        with open(path_file, encoding="utf-8") as f:
            path_entries += [p for p in f.read().split("\n") if p]

    write_report(args.report, {"steps": log, "exported": exported, "path": path_entries})
    env = dict(job_env)
    env.update(exported)
    env["PATH"] = os.pathsep.join(list(reversed(path_entries)) + [job_env["PATH"]])
    print("## the workflow's next step: " + shlex.join(args.cmd), file=sys.stderr, flush=True)
    return subprocess.run(args.cmd, env=env).returncode


def jwt_claims(token):
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except Exception:  # noqa: BLE001 - any malformed token is the test's own bug
        fail("AWS_CI_CREDS_ID_TOKEN is not a JWT")


def gitlab(args):
    with open(args.target, encoding="utf-8") as f:
        text = f.read()
    head, sep, body = text.partition("\n---\n")
    if not sep:
        fail("the template has no `---` line between the spec header and the jobs")
    spec = yaml.safe_load(head)
    declared = (spec or {}).get("spec", {}).get("inputs") or {}
    given = parse_inputs(args.input)
    inputs = {}
    for name in given:
        if name not in declared:
            fail(f"input {name} is not declared in spec: inputs:")
    for name, s in declared.items():
        s = s or {}
        if name in given:
            value = given[name]
        elif "default" in s:
            value = str(s["default"])
        else:
            fail(f"input {name} is required (it has no default)")
        if "options" in s and value not in [str(o) for o in s["options"]]:
            fail(f"input {name}={value!r} is not one of {s['options']}")
        inputs[name] = value

    def sub(m):
        expr = m.group(1)
        if not expr.startswith("inputs.") or "|" in expr:
            fail(f"interpolation {m.group(0)} is not supported by this harness")
        name = expr[len("inputs."):]
        if name not in inputs:
            fail(f"{m.group(0)} names an undeclared input")
        return inputs[name]

    jobs = yaml.safe_load(GL_EXPR.sub(sub, body))
    job = jobs.get(".aws-ci-creds")
    if not isinstance(job, dict):
        fail("the template has no hidden job .aws-ci-creds")

    env = dict(os.environ)
    tokens = job.get("id_tokens") or {}
    if list(tokens) != ["AWS_CI_CREDS_ID_TOKEN"]:
        fail(f"id_tokens must define AWS_CI_CREDS_ID_TOKEN only, got {list(tokens)}")
    want_aud = tokens["AWS_CI_CREDS_ID_TOKEN"].get("aud")
    got_aud = jwt_claims(env.get("AWS_CI_CREDS_ID_TOKEN", "")).get("aud")
    if want_aud != got_aud:
        fail(f"id_tokens asks for aud {want_aud!r}, but the test token has {got_aud!r}")
    for name, value in (job.get("variables") or {}).items():
        if isinstance(value, dict):
            value = value.get("value", "")
        env[name] = str(value)

    def flatten(items):
        for item in items:
            if isinstance(item, list):
                yield from flatten(item)
            else:
                yield str(item)

    before = list(flatten(job.get("before_script") or []))
    if not before:
        fail(".aws-ci-creds has no before_script")
    write_report(args.report, {"inputs": inputs, "job": job})
    # The script's output is the job log (stderr here); CMD's stdout alone is this one's (fd 3).
    script = "\n".join(before + [shlex.join(args.cmd) + " >&3"]) + "\n"
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False, dir=env.get("TMPDIR")) as f:
        f.write(script)
    try:
        print("## before_script + script", file=sys.stderr, flush=True)
        os.dup2(1, 3)
        return subprocess.run(
            [args.sh, "-e", f.name], env=env, stdout=sys.stderr, pass_fds=(3,)
        ).returncode
    finally:
        os.unlink(f.name)


def write_report(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=["github", "gitlab"])
    p.add_argument("target")
    p.add_argument("--sh", required=True)
    p.add_argument("--input", action="append", default=[])
    p.add_argument("--report", required=True)
    p.add_argument("cmd", nargs="+")
    args = p.parse_args()
    return github(args) if args.kind == "github" else gitlab(args)


if __name__ == "__main__":
    sys.exit(main())
