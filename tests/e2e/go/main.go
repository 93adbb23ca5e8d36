// Command whoami is the e2e suite's stand-in for Terraform's AWS provider
// (and every other Go tool built on aws-sdk-go-v2): it loads the shared
// config exactly the way hashicorp/aws-sdk-go-base does, through
// config.LoadDefaultConfig with a named profile, so the profile's
// credential_process is run by the Go SDK's processcreds provider
// (`sh -c <line>`, stderr passed straight through to our stderr, 1 min
// timeout). It then calls sts:GetCallerIdentity and prints the caller ARN.
//
// Usage: whoami [-profile ci] [-ini current] [-loop 45s -every 2s]   (-profile "": no profile)
//
// With -ini current the profile's credential_process and region are read by
// this client following the current aws-sdk-go-v2 ini rules (current_ini.go)
// instead of Debian's older SDK, and run by the SDK's processcreds provider.
//
// With -loop it keeps one aws.Config (and so the SDK's credentials cache)
// for the whole run, as a long `terraform apply` does, and calls
// GetCallerIdentity every -every until -loop has passed, printing one JSON
// line per call: {"i","t","ok","key4","expires","arn"} or {"i","t","ok":false,
// "error"} (key4: the last 4 characters of the access key id; never a whole
// key or a secret). The SDK runs credential_process again only once the
// cached credentials reach their Expiration. Exit status 1 if any call failed.
//
// It is built in GOPATH mode against Debian's golang-github-aws-aws-sdk-go-v2-dev,
// so no Go modules are downloaded.
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
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	profile := flag.String("profile", "ci", "shared config profile to load")
	loop := flag.Duration("loop", 0, "keep calling for this long (0: one call)")
	every := flag.Duration("every", 2*time.Second, "interval between calls with -loop")
	ini := flag.String("ini", "sdk", "who reads the config file: sdk (Debian's aws-sdk-go-v2) or current (the rewritten ini rules)")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+*loop)
	defer cancel()

	var loadOpts []func(*config.LoadOptions) error
	switch *ini {
	case "sdk":
		// -profile "" loads no named profile: the default chain, as a tool with no
		// configuration does (env, shared files, then the container endpoint).
		if *profile != "" {
			loadOpts = append(loadOpts, config.WithSharedConfigProfile(*profile))
		}
	case "current":
		keys, err := currentINIProfile(*profile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "whoami: read config: %v\n", err)
			os.Exit(1)
		}
		command := keys["credential_process"]
		if command == "" {
			fmt.Fprintf(os.Stderr, "whoami: profile %q has no credential_process\n", *profile)
			os.Exit(1)
		}
		region := keys["region"]
		if region == "" {
			region = "us-east-1"
		}
		loadOpts = append(loadOpts, config.WithRegion(region),
			config.WithCredentialsProvider(aws.NewCredentialsCache(processcreds.NewProvider(command))))
	default:
		fmt.Fprintf(os.Stderr, "whoami: -ini must be sdk or current\n")
		os.Exit(2)
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "whoami: load config: %v\n", err)
		os.Exit(1)
	}

	var opts []func(*sts.Options)
	// Debian's SDK (v1.17) predates service-specific endpoint env vars, which
	// newer releases read themselves; honour them here the same way.
	if url := endpointFromEnv(); url != "" {
		opts = append(opts, func(o *sts.Options) {
			o.EndpointResolver = sts.EndpointResolverFromURL(url)
		})
	}

	client := sts.NewFromConfig(cfg, opts...)
	if *loop > 0 {
		os.Exit(callInLoop(ctx, cfg, client, *loop, *every))
	}

	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "whoami: GetCallerIdentity: %v\n", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]string{
		"Account": aws.ToString(out.Account),
		"Arn":     aws.ToString(out.Arn),
		"UserId":  aws.ToString(out.UserId),
	})
}

func callInLoop(ctx context.Context, cfg aws.Config, client *sts.Client, loop, every time.Duration) int {
	enc := json.NewEncoder(os.Stdout)
	end := time.Now().Add(loop)
	failed := 0
	for i := 1; ; i++ {
		started := time.Now()
		record := map[string]interface{}{"i": i, "t": float64(started.UnixNano()) / 1e9}
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

func endpointFromEnv() string {
	if os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") == "true" {
		return ""
	}
	if v := os.Getenv("AWS_ENDPOINT_URL_STS"); v != "" {
		return v
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}
