// Command whoami-gobase builds its AWS config the way the Terraform AWS
// provider and the S3 backend do: through hashicorp/aws-sdk-go-base/v2's
// GetAwsConfig (pinned in ../../go.mod). go-base resolves the credentials
// (profile, shared files, assume_role), validates them with its own
// sts:GetCallerIdentity, and this command then calls GetCallerIdentity with
// the returned config and prints the caller as JSON, like the other clients.
//
// Usage: whoami-gobase [-profile NAME] [-config-file PATH] [-region R]
//
//	[-assume-role ARN -assume-session NAME]
//
// The flags map one to one onto the provider's and backend's arguments:
// -profile is `profile` (empty: go-base falls back to AWS_PROFILE itself),
// -config-file is `shared_config_files`, -assume-role is an `assume_role`
// block. Diagnostics go to stderr as Terraform would show them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	awsbase "github.com/hashicorp/aws-sdk-go-base/v2"
	"github.com/hashicorp/aws-sdk-go-base/v2/diag"

	"aws-ci-creds/e2e/internal/caller"
)

func main() {
	profile := flag.String("profile", "", "the provider's `profile` (empty: AWS_PROFILE, then the default chain)")
	configFile := flag.String("config-file", "", "the provider's `shared_config_files` (one file)")
	region := flag.String("region", "", "the provider's `region` (empty: from the profile or the environment)")
	roleARN := flag.String("assume-role", "", "an `assume_role` block's role_arn")
	roleSession := flag.String("assume-session", "", "that block's session_name")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	conf := awsbase.Config{
		CallerName:             "aws-ci-creds e2e",
		CallerDocumentationURL: "tests/e2e/README.md",
		Profile:                *profile,
		Region:                 *region,
	}
	if *configFile != "" {
		conf.SharedConfigFiles = []string{*configFile}
	}
	if *roleARN != "" {
		conf.AssumeRole = []awsbase.AssumeRole{{RoleARN: *roleARN, SessionName: *roleSession}}
	}

	ctx, cfg, diags := awsbase.GetAwsConfig(ctx, &conf)
	report(diags)
	if diags.HasError() {
		os.Exit(1)
	}
	if err := caller.Print(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "whoami-gobase: GetCallerIdentity: %v\n", err)
		os.Exit(1)
	}
}

func report(diags diag.Diagnostics) {
	for _, d := range diags {
		fmt.Fprintf(os.Stderr, "whoami-gobase: %s: %s\n", d.Severity(), d.Summary())
		if d.Detail() != "" {
			fmt.Fprintf(os.Stderr, "    %s\n", d.Detail())
		}
	}
}
