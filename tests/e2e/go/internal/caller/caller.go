// Package caller prints who an aws.Config signs as, in the one form run.sh
// reads for every client: {"Account","Arn","UserId"} on stdout.
package caller

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Print calls sts:GetCallerIdentity with cfg and writes the identity as one
// JSON line. The endpoint comes from cfg itself (AWS_ENDPOINT_URL_STS, read
// by the SDK), so what is tested is the SDK's own endpoint resolution.
func Print(ctx context.Context, cfg aws.Config) error {
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]string{
		"Account": aws.ToString(out.Account),
		"Arn":     aws.ToString(out.Arn),
		"UserId":  aws.ToString(out.UserId),
	})
}
