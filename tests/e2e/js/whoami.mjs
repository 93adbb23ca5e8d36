// whoami.mjs: the e2e suite's stand-in for Node.js tooling built on the AWS
// SDK for JavaScript v3 (CDK, Serverless, Pulumi's Node runtime, custom
// deploy scripts). The SDK runs the profile's credential_process through
// child_process.exec (/bin/sh), captures its stderr into the error message,
// and refreshes when fewer than 5 minutes of validity remain.
//
// Usage: node whoami.mjs [chain|process]
//   chain   (default) no credentials in code: the default provider chain
//           picks the profile named by AWS_PROFILE, as most tools do;
//   process fromProcess({ profile: AWS_PROFILE }) explicitly.
// The STS endpoint comes from the environment (AWS_ENDPOINT_URL_STS), which
// the SDK itself honours.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { fromProcess } from "@aws-sdk/credential-providers";

const mode = process.argv[2] ?? "chain";
const options = {};
if (mode === "process") {
  options.credentials = fromProcess({ profile: process.env.AWS_PROFILE });
} else if (mode !== "chain") {
  console.error(`whoami.mjs: unknown mode ${mode}`);
  process.exit(2);
}

try {
  const out = await new STSClient(options).send(new GetCallerIdentityCommand({}));
  console.log(JSON.stringify({ Account: out.Account, Arn: out.Arn, UserId: out.UserId }));
} catch (err) {
  console.error(`whoami.mjs: GetCallerIdentity: ${err.name}: ${err.message}`);
  process.exit(1);
}
