//! A panic is a bug: report it as one, with exit code 1 (internal), and never with more than the
//! panic's own message and location. Secrets live only in [`crate::secret::Secret`], whose
//! `Debug` is redacted, so no panic message can carry one.

pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        crate::diag::Diag::default().plain(format!(
            "aws-ci-creds: internal error: {message}{location}\n  this is a bug: please report it with the output of -v (it never contains secrets)"
        ));
        std::process::exit(i32::from(crate::exit_code::ExitCode::Internal.code()));
    }));
}
