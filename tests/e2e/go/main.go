// Command whoami is the e2e suite's stand-in for Terraform's AWS provider
// (and every other Go tool built on aws-sdk-go-v2): it loads the shared
// config exactly the way hashicorp/aws-sdk-go-base does, through
// config.LoadDefaultConfig with a named profile, so the profile's
// credential_process is run by the Go SDK's processcreds provider
// (`sh -c <line>`, stderr passed straight through to our stderr, 1 min
// timeout). It then calls sts:GetCallerIdentity and prints the caller ARN.
//
// Usage: whoami [-profile ci]
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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	profile := flag.String("profile", "ci", "shared config profile to load")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cfg, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigProfile(*profile))
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

	out, err := sts.NewFromConfig(cfg, opts...).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
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

func endpointFromEnv() string {
	if os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") == "true" {
		return ""
	}
	if v := os.Getenv("AWS_ENDPOINT_URL_STS"); v != "" {
		return v
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}
