#!/usr/bin/env python3
"""Lists who signed each request in a moto server recording (MOTO_ENABLE_RECORDING).

Usage: signers.py RECORDING.jsonl
Prints one tab-separated line per request: method, path (without query), the STS action and
RoleArn for STS calls ("-" otherwise), and the access key id of its SigV4 Authorization header
("-" when unsigned). Only key ids are printed, never a secret or a session token: the suite
compares them with the key id in aws-ci-creds' cache to tell whose credentials made each call.
"""
import base64
import json
import re
import sys
from urllib.parse import parse_qs, urlsplit

CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
            url = urlsplit(entry.get("url", ""))
            params = parse_qs(url.query)
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                params.update(parse_qs(body))
            match = CREDENTIAL.search(headers.get("authorization", ""))
            print(
                entry.get("method", "-"),
                url.path or "/",
                params.get("Action", ["-"])[0],
                params.get("RoleArn", ["-"])[0],
                match.group(1) if match else "-",
                sep="\t",
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
