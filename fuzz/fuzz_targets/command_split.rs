//! `--token-command` splitting (botocore's `shlex.split` rules) and the `credential_process`
//! line `setup` writes. Invariants: no panic; what split gives, written as a line, splits back to
//! the same argv; and any argv `setup` agrees to write is read back as that very argv by every
//! SDK's reader (botocore, the current aws-sdk-go-v2, aws-sdk-rust and the JS SDK).
#![no_main]

use aws_ci_creds::testing::profile_file::command_line::{Arg, Reader, build};
use aws_ci_creds::testing::source::command::split;
use libfuzzer_sys::fuzz_target;

fn line_for(argv: &[&str]) -> Option<String> {
    let args: Vec<Arg<'_>> = argv
        .iter()
        .map(|value| Arg {
            what: "an argument",
            value,
        })
        .collect();
    build(&args).ok()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(args) = split(&text) {
        assert!(!args.is_empty());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        if !argv.contains(&"--role-arn")
            && let Some(line) = line_for(&argv)
        {
            assert_eq!(split(&line).as_ref(), Ok(&args));
        }
    }
    // Any argv (here: the input cut at NUL) that setup writes reads back the same everywhere.
    // (`--role-arn` is left out: setup may move that pair to the end of the line.)
    let argv: Vec<&str> = text.split('\0').collect();
    if argv.contains(&"--role-arn") {
        return;
    }
    if let Some(line) = line_for(&argv) {
        for reader in Reader::ALL {
            let back = reader.argv(&line).expect("a line setup wrote is readable");
            assert_eq!(back, argv, "{}", reader.name());
        }
    }
});
