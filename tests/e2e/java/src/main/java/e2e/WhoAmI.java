// WhoAmI: the e2e suite's stand-in for Java tooling built on the AWS SDK for
// Java v2 (Spring Cloud AWS, Flyway/Liquibase against RDS IAM auth, Gradle
// and Maven plugins that deploy). It calls sts:GetCallerIdentity and prints
// the caller as one JSON line; it never prints credentials.
//
// Usage: java e2e.WhoAmI MODE [PROFILE]
//   profile NAME  ProfileCredentialsProvider for NAME: the SDK reads the
//                 profile's credential_process line and runs it through its
//                 ProcessCredentialsProvider (`sh -c LINE`);
//   chain         DefaultCredentialsProvider, as a tool that configures no
//                 credentials gets: AWS_PROFILE selects the profile, or
//                 AWS_CONTAINER_CREDENTIALS_FULL_URI the container endpoint;
//   container     ContainerCredentialsProvider on its own (exec --serve).
// The STS endpoint comes from AWS_ENDPOINT_URL_STS, which the SDK honours.
//
// On failure it prints what a user of the SDK sees, one line per exception
// in the chain (the top-level message first, then each `Caused by:`), and
// exits 1: the suite asserts on exactly which of these lines carries the
// credential process's error text.
package e2e;

import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ContainerCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.GetCallerIdentityResponse;

public final class WhoAmI {
    private WhoAmI() {}

    public static void main(String[] args) {
        if (args.length < 1) {
            usage();
        }
        String mode = args[0];
        String profile = args.length > 1 ? args[1] : null;
        AwsCredentialsProvider credentials;
        switch (mode) {
            case "profile":
                if (profile == null || profile.isEmpty()) {
                    usage();
                }
                credentials = ProfileCredentialsProvider.builder().profileName(profile).build();
                break;
            case "chain":
                credentials = DefaultCredentialsProvider.builder().build();
                break;
            case "container":
                credentials = ContainerCredentialsProvider.builder().build();
                break;
            default:
                usage();
                return;
        }

        try (StsClient sts = StsClient.builder()
                .credentialsProvider(credentials)
                .region(region(profile))
                .build()) {
            GetCallerIdentityResponse who = sts.getCallerIdentity();
            System.out.println("{\"Account\": " + json(who.account()) + ", \"Arn\": " + json(who.arn())
                    + ", \"UserId\": " + json(who.userId()) + "}");
        } catch (SdkException | IllegalStateException e) {
            System.err.println("WhoAmI: GetCallerIdentity: " + e);
            for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
                System.err.println("Caused by: " + c);
            }
            System.exit(1);
        }
    }

    // The region is not under test: the profile's or the environment's, as the
    // SDK would pick it, else us-east-1 (the refused-exchange profiles set none).
    private static Region region(String profile) {
        DefaultAwsRegionProviderChain.Builder chain = DefaultAwsRegionProviderChain.builder();
        if (profile != null && !profile.isEmpty()) {
            chain.profileName(profile);
        }
        try {
            return chain.build().getRegion();
        } catch (SdkException e) {
            return Region.US_EAST_1;
        }
    }

    private static String json(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            if (ch == '"' || ch == '\\') {
                b.append('\\').append(ch);
            } else if (ch < 0x20) {
                b.append(String.format("\\u%04x", (int) ch));
            } else {
                b.append(ch);
            }
        }
        return b.append('"').toString();
    }

    private static void usage() {
        System.err.println("usage: WhoAmI profile NAME | chain | container");
        System.exit(2);
    }
}
