#!/usr/bin/env python3
"""boto3 client for the e2e suite: stands in for Python tooling (Ansible's
amazon.aws modules, custom deploy scripts) that builds a Session from a named
profile. botocore runs the profile's credential_process with shlex.split and
no shell, and puts the process's stderr into CredentialRetrievalError.

Usage: whoami_boto3.py PROFILE   (the STS endpoint comes from AWS_ENDPOINT_URL_STS)
       whoami_boto3.py -         no profile: boto3's default chain, as a tool with
                                 no configuration builds it
"""
import json
import sys

import boto3


def main() -> int:
    profile = sys.argv[1] if len(sys.argv) > 1 else "ci"
    try:
        session = boto3.Session(profile_name=None if profile == "-" else profile)
        ident = session.client("sts").get_caller_identity()
    except Exception as exc:  # print the SDK's own error text for the checks
        print(f"whoami_boto3: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({k: ident[k] for k in ("Account", "Arn", "UserId")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
