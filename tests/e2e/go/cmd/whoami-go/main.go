// Command whoami-go is the e2e suite's client on the current aws-sdk-go-v2
// (pinned in ../../go.mod), the SDK under every Go tool that reads the AWS
// shared config, Terraform and OpenTofu included. It loads the config through
// config.LoadDefaultConfig with a named profile, so the SDK's own ini reader
// parses the profile and its processcreds provider runs credential_process
// (`sh -c <line>`, our stderr passed straight through, 1 min timeout). It then
// calls sts:GetCallerIdentity and prints the caller as JSON.
//
// Usage: whoami-go [-profile ci] [-loop 45s -every 2s]   (-profile "": no profile)
//
// With -loop it keeps one aws.Config (and so the SDK's credentials cache)
// for the whole run, as a long `terraform apply` does, and calls
// GetCallerIdentity every -every until -loop has passed, printing one JSON
// line per call: {"i","t","ok","key4","expires","arn"} or {"i","t","ok":false,
// "error"} (key4: the last 4 characters of the access key id; never a whole
// key or a secret). Exit status 1 if any call failed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"aws-ci-creds/e2e/internal/caller"
)

func main() {
	profile := flag.String("profile", "ci", "shared config profile to load")
	loop := flag.Duration("loop", 0, "keep calling for this long (0: one call)")
	every := flag.Duration("every", 2*time.Second, "interval between calls with -loop")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+*loop)
	defer cancel()

	var loadOpts []func(*config.LoadOptions) error
	// -profile "" names no profile: the default chain, as a tool with no
	// configuration runs it (env, shared files, then the container endpoint).
	if *profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(*profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "whoami-go: load config: %v\n", err)
		os.Exit(1)
	}

	if *loop > 0 {
		os.Exit(callInLoop(ctx, cfg, *loop, *every))
	}
	if err := caller.Print(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "whoami-go: GetCallerIdentity: %v\n", err)
		os.Exit(1)
	}
}

func callInLoop(ctx context.Context, cfg aws.Config, loop, every time.Duration) int {
	client := sts.NewFromConfig(cfg)
	enc := json.NewEncoder(os.Stdout)
	end := time.Now().Add(loop)
	failed := 0
	for i := 1; ; i++ {
		started := time.Now()
		record := map[string]any{"i": i, "t": float64(started.UnixNano()) / 1e9}
		// The credentials the call below signs with: the SDK's cached ones, or
		// freshly fetched through credential_process if those have expired.
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err == nil {
			var out *sts.GetCallerIdentityOutput
			out, err = client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err == nil {
				key := creds.AccessKeyID
				if len(key) > 4 {
					key = key[len(key)-4:]
				}
				record["ok"] = true
				record["key4"] = key
				record["arn"] = aws.ToString(out.Arn)
				if creds.CanExpire {
					record["expires"] = float64(creds.Expires.UnixNano()) / 1e9
				}
			}
		}
		if err != nil {
			failed++
			record["ok"] = false
			record["error"] = strings.TrimSpace(err.Error())
		}
		enc.Encode(record)
		if time.Now().Add(every).After(end) {
			break
		}
		time.Sleep(time.Until(started.Add(every)))
	}
	if failed > 0 {
		return 1
	}
	return 0
}
