#!/usr/bin/env python3
"""Long-running boto3 client for the e2e refresh check: one Session and one
STS client kept for the whole run, as a deploy script or an Ansible play
would, calling GetCallerIdentity every EVERY seconds for SECONDS seconds.

botocore keeps the credential_process result as RefreshableCredentials with
the JSON's `Expiration`, and runs the process again when fewer than 10
minutes remain (mandatory refresh: a failure is raised, not papered over).

Prints one JSON line per call:
  {"i": 1, "t": <unix time the call started>, "ok": true,
   "key4": "<last 4 chars of the access key id that signed it>",
   "expires": <unix time of the credentials' Expiration as botocore holds it>,
   "arn": "..."}
or {"i": .., "t": .., "ok": false, "error": "<the SDK's error text>"}.
Never prints a whole key, a secret or a session token.

Usage: refresh_boto3.py PROFILE SECONDS EVERY
(the STS endpoint comes from AWS_ENDPOINT_URL_STS)
"""
import json
import re
import sys
import time

import boto3


def main() -> int:
    profile, seconds, every = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    session = boto3.Session(profile_name=None if profile == "-" else profile)
    client = session.client("sts")

    signed_with = {}

    def remember_key(request, **_):
        # The key id that actually signed the request, from its Authorization header.
        auth = request.headers.get("Authorization", b"")
        if isinstance(auth, bytes):
            auth = auth.decode()
        m = re.search(r"Credential=([A-Z0-9]+)/", auth)
        signed_with["key"] = m.group(1) if m else None

    client.meta.events.register("before-send.sts.GetCallerIdentity", remember_key)

    end = time.time() + seconds
    i = 0
    failed = 0
    while True:
        i += 1
        started = time.time()
        signed_with.clear()
        record = {"i": i, "t": round(started, 3)}
        try:
            ident = client.get_caller_identity()
            # The same RefreshableCredentials object the client signs with; reading
            # its expiry does not trigger a refresh.
            creds = session.get_credentials()
            expiry = getattr(creds, "_expiry_time", None)
            key = signed_with.get("key") or ""
            record.update(
                ok=True,
                key4=key[-4:],
                expires=expiry.timestamp() if expiry else None,
                arn=ident["Arn"],
            )
        except Exception as exc:  # the SDK's own error text, for the report
            failed += 1
            record.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        print(json.dumps(record), flush=True)
        if time.time() + every > end:
            break
        time.sleep(max(0.0, started + every - time.time()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
