// The current aws-sdk-go-v2 config reader, for the profile's credential_process.
//
// Debian packages aws-sdk-go-v2 1.17, whose internal/ini parser predates the
// late-2023 rewrite that today's Go tools (Terraform's AWS provider and S3
// backend) are built with. With -ini current this client reads the shared
// config file itself, following the rewritten parser's rules for a value:
//
//  1. cut at the first '#' or ';' anywhere in it (an inline comment);
//  2. trim surrounding whitespace;
//  3. if what is left starts and ends with the same quote character (' or "),
//     remove that outer pair;
//  4. replace \" with " and \' with '.
//
// The result goes to the SDK's own processcreds provider, which runs it
// under `sh -c` exactly as LoadDefaultConfig would.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// currentINIValue applies the rewritten parser's value rules.
func currentINIValue(raw string) string {
	if i := strings.IndexAny(raw, "#;"); i >= 0 {
		raw = raw[:i]
	}
	v := strings.TrimSpace(raw)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return strings.NewReplacer(`\"`, `"`, `\'`, `'`).Replace(v)
}

// sectionProfile is the profile a section header names ("" for none).
func sectionProfile(line string) string {
	if i := strings.IndexAny(line, "#;"); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "[") || !strings.HasSuffix(line, "]") {
		return ""
	}
	fields := strings.Fields(line[1 : len(line)-1])
	switch {
	case len(fields) == 1 && fields[0] == "default":
		return "default"
	case len(fields) == 2 && fields[0] == "profile":
		return fields[1]
	}
	return ""
}

// currentINIProfile returns the profile's keys (lower-case) as the rewritten
// parser reads them, from AWS_CONFIG_FILE or ~/.aws/config.
func currentINIProfile(profile string) (map[string]string, error) {
	path := os.Getenv("AWS_CONFIG_FILE")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		path = filepath.Join(home, ".aws", "config")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	keys := map[string]string{}
	found, in := false, false
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimRight(scanner.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";"):
		case strings.HasPrefix(trimmed, "["):
			in = sectionProfile(trimmed) == profile
			found = found || in
		case in && line[0] != ' ' && line[0] != '\t':
			if k, v, ok := strings.Cut(line, "="); ok {
				keys[strings.ToLower(strings.TrimSpace(k))] = currentINIValue(v)
			}
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("profile %q not found in %s", profile, path)
	}
	return keys, nil
}
