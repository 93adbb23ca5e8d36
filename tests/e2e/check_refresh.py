#!/usr/bin/env python3
"""Checks the JSON lines a long-running client (refresh_boto3.py, the Go
client's -loop mode) wrote while its credentials expired under it.

Prints one line per check, tab-separated, for run.sh to report:
  PASS <name>            FAIL <name> <why>            INFO <text>

Usage: check_refresh.py FILE LIFETIME_SECONDS MIN_CALLS [EXPIRY_WINDOW_SECONDS]

EXPIRY_WINDOW_SECONDS: how much earlier than the real Expiration the client
reports it (aws-sdk-go-v2's container provider refreshes 5 minutes early and
reports the Expiration minus that window: 300). Default 0.
"""
import json
import sys

# Between the emulator issuing credentials and the client recording the call.
SLACK = 5.0


def main() -> int:
    path, lifetime, min_calls = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    window = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("expires") is not None:
                    record["expires"] += window
                records.append(record)

    def report(name, failures):
        if failures:
            print(f"FAIL\t{name}\t{failures}")
        else:
            print(f"PASS\t{name}")

    good = [r for r in records if r.get("ok")]
    bad = [r for r in records if not r.get("ok")]
    span = records[-1]["t"] - records[0]["t"] if records else 0
    report(
        f"every call succeeded ({len(good)} of {len(records)} over {span:.0f}s)",
        "; ".join(f"call {r['i']}: {r.get('error', '?')[:300]}" for r in bad[:3])
        or ("" if len(records) >= min_calls else f"only {len(records)} calls, want {min_calls}+"),
    )

    keys = []
    for r in good:
        if not keys or keys[-1] != r["key4"]:
            keys.append(r["key4"])
    print(f"INFO\taccess keys in order of use (last 4 chars): {' '.join('...' + k for k in keys)}")
    report(
        f"credentials refreshed while it ran ({len(set(keys))} distinct access keys)",
        "" if len(set(keys)) >= 2 else "the client used one access key throughout",
    )

    # The Expiration the client holds is the short one from our JSON (not the
    # requested duration, not "never"), every call was signed with credentials
    # it still considered valid, and the run went past the first expiry.
    problems = []
    for r in good:
        exp = r.get("expires")
        if exp is None:
            problems.append(f"call {r['i']}: the client holds no Expiration")
        elif not r["t"] < exp:
            problems.append(f"call {r['i']}: signed {r['t'] - exp:.1f}s after the Expiration")
        elif exp > r["t"] + lifetime + SLACK:
            problems.append(f"call {r['i']}: Expiration {exp - r['t']:.0f}s ahead, the lifetime is {lifetime:.0f}s")
    if good and not problems:
        first_expiry = min(r["expires"] for r in good)
        if good[-1]["t"] <= first_expiry:
            problems.append("the run ended before the first credentials expired")
    report(
        f"the client honours the {lifetime:.0f}s Expiration and fetches credentials again",
        "; ".join(problems[:3]) if good else "no successful call",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
