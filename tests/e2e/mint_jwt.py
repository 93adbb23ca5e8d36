#!/usr/bin/env python3
"""Mint a structurally valid, *unsigned* RS256-looking JWT for the moto runs.

moto's STS does not verify web identity tokens, but aws-ci-creds decodes the
token before calling STS and rejects malformed or expired ones, so the token
must look real: base64url header and payload, integer timestamps, a future
`exp`, and a signature segment of RSA-2048 size (random bytes; nothing can
verify it). Never use this for anything but tests.

Usage: mint_jwt.py --sub SUB [--iss URL] [--aud AUD] [--ttl SECONDS] > token
"""
import argparse
import base64
import json
import os
import sys
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sub", required=True)
    p.add_argument("--iss", default="https://gitlab.e2e.invalid")
    p.add_argument("--aud", default="sts.amazonaws.com")
    p.add_argument("--ttl", type=int, default=3600, help="seconds until exp (negative: already expired)")
    a = p.parse_args()

    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": "e2e-unsigned"}
    payload = {
        "iss": a.iss,
        "aud": a.aud,
        "sub": a.sub,
        "iat": now,
        "nbf": now - 5,
        "exp": now + a.ttl,
        "jti": b64url(os.urandom(12)),
    }
    token = ".".join(
        [
            b64url(json.dumps(header, separators=(",", ":")).encode()),
            b64url(json.dumps(payload, separators=(",", ":")).encode()),
            b64url(os.urandom(256)),
        ]
    )
    sys.stdout.write(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
