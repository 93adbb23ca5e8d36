//! `--token-command` splitting (botocore's `shlex.split` rules) and the quoting `setup` uses to
//! write `credential_process` lines. Invariants: no panic; quoting any argv and splitting it back
//! gives the same argv.
#![no_main]

use aws_ci_creds::commands::setup::quote;
use aws_ci_creds::source::command::split;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(args) = split(&text) {
        assert!(!args.is_empty());
        // What split gives, quoted and split again, is the same argv.
        let line: Vec<String> = args.iter().map(|a| quote(a)).collect();
        assert_eq!(split(&line.join(" ")).as_ref(), Ok(&args));
    }
    // Any argv (here: the input cut at NUL) survives quote → split.
    let argv: Vec<&str> = text.split('\0').collect();
    let line: Vec<String> = argv.iter().map(|a| quote(a)).collect();
    let back = split(&line.join(" ")).expect("a quoted line splits");
    assert_eq!(back, argv);
});
