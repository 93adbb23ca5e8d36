//! Which certificates a TLS connection trusts, and where they came from.
//!
//! STS: `AWS_CA_BUNDLE` or the profile's `ca_bundle` replaces the default roots, as in the AWS
//! SDKs. Both clients: `SSL_CERT_FILE`/`SSL_CERT_DIR`, else the system store, else (an image with
//! no store at all: `scratch`, distroless-static) the Mozilla roots compiled in from webpki-roots.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::env::Env;
use crate::error::Error;
use crate::setting::{Origin, Setting};

/// Where the trusted roots came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootsSource {
    /// A PEM bundle that replaces the defaults (`AWS_CA_BUNDLE`, `ca_bundle`, `SSL_CERT_FILE`…).
    Bundle { path: PathBuf, origin: String },
    /// `SSL_CERT_DIR`.
    Dir { dirs: String },
    /// The operating system's store.
    System,
    /// The Mozilla roots compiled into the binary.
    Compiled,
}

impl fmt::Display for RootsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootsSource::Bundle { path, origin } => {
                write!(f, "the bundle {} ({origin})", path.display())
            }
            RootsSource::Dir { dirs } => write!(f, "the certificates in {dirs} (SSL_CERT_DIR)"),
            RootsSource::System => f.write_str("the system trust store"),
            RootsSource::Compiled => f.write_str(
                "the Mozilla roots built into aws-ci-creds (no system trust store was found)",
            ),
        }
    }
}

/// A root store and where it came from.
#[derive(Clone)]
pub struct Roots {
    pub store: Arc<RootCertStore>,
    pub source: RootsSource,
    pub count: usize,
}

impl fmt::Debug for Roots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Roots({}, {} certificates)", self.source, self.count)
    }
}

impl Roots {
    /// The `-v` line.
    pub fn describe(&self, purpose: &str) -> String {
        format!(
            "TLS roots for {purpose}: {} ({} certificates)",
            self.source, self.count
        )
    }

    fn from_certs(certs: Vec<CertificateDer<'static>>, source: RootsSource) -> Roots {
        let mut store = RootCertStore::empty();
        let (count, _) = store.add_parsable_certificates(certs);
        Roots {
            store: Arc::new(store),
            source,
            count,
        }
    }

    /// Mozilla's roots, compiled in.
    pub fn compiled() -> Roots {
        let store = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let count = store.len();
        Roots {
            store: Arc::new(store),
            source: RootsSource::Compiled,
            count,
        }
    }

    /// A PEM bundle that replaces the default roots. Missing, unreadable or holding no
    /// certificate: a configuration error naming the setting, before any network call.
    pub fn bundle(setting: &Setting<PathBuf>) -> Result<Roots, Error> {
        let path = &setting.value;
        let origin = setting.origin.to_string();
        let fix = format!(
            "point {origin} at a PEM file holding the CA certificate(s) (-----BEGIN CERTIFICATE-----), or unset it"
        );
        let bytes = std::fs::read(path).map_err(|e| {
            Error::usage(
                format!(
                    "the CA bundle {} ({origin}) cannot be read: {e}",
                    path.display()
                ),
                fix.clone(),
            )
        })?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
            .filter_map(Result::ok)
            .collect();
        let roots = Roots::from_certs(
            certs,
            RootsSource::Bundle {
                path: path.clone(),
                origin: origin.clone(),
            },
        );
        if roots.count == 0 {
            return Err(Error::usage(
                format!(
                    "the CA bundle {} ({origin}) holds no usable PEM certificate",
                    path.display()
                ),
                fix,
            ));
        }
        Ok(roots)
    }

    /// `SSL_CERT_FILE`/`SSL_CERT_DIR` when set, else the system store, else the compiled-in roots.
    pub fn default_for(env: &Env) -> Result<Roots, Error> {
        let file = env.get_os("SSL_CERT_FILE").map(PathBuf::from);
        let dir = env.get_os("SSL_CERT_DIR").map(PathBuf::from);
        if let Some(file) = &file {
            let mut roots =
                Roots::bundle(&Setting::new(file.clone(), Origin::Env("SSL_CERT_FILE")))?;
            if let Some(dir) = &dir {
                let mut store = (*roots.store).clone();
                let (added, _) = store.add_parsable_certificates(certs_in_dirs(dir));
                roots.count += added;
                roots.store = Arc::new(store);
            }
            return Ok(roots);
        }
        if let Some(dir) = &dir {
            let roots = Roots::from_certs(
                certs_in_dirs(dir),
                RootsSource::Dir {
                    dirs: dir.display().to_string(),
                },
            );
            if roots.count == 0 {
                return Err(Error::usage(
                    format!("SSL_CERT_DIR {} holds no usable certificate", dir.display()),
                    "point SSL_CERT_DIR at a directory of PEM certificates (c_rehash layout), or unset it",
                ));
            }
            return Ok(roots);
        }
        Ok(Roots::system_or_compiled())
    }

    fn system_or_compiled() -> Roots {
        // The well-known locations, the same ones rustls-native-certs probes on Linux; the
        // variables were handled above, so they are not consulted again here.
        Roots::system_or_fallback(rustls_native_certs::load_native_certs().certs)
    }

    /// The system's certificates, or the compiled-in roots when there are none.
    fn system_or_fallback(system: Vec<CertificateDer<'static>>) -> Roots {
        let roots = Roots::from_certs(system, RootsSource::System);
        if roots.count == 0 {
            return Roots::compiled();
        }
        roots
    }
}

/// The certificates in each directory of an `SSL_CERT_DIR` list (`:`-separated, like `PATH`).
fn certs_in_dirs(list: &std::path::Path) -> Vec<CertificateDer<'static>> {
    std::env::split_paths(list.as_os_str())
        .flat_map(|dir| rustls_native_certs::load_certs_from_paths(None, Some(&dir)).certs)
        .collect()
}

/// The variable that changes the roots used for `purpose`, for an error's fix line.
pub fn how_to_change(source: &RootsSource, sts: bool) -> String {
    let proxy_hint = "if a proxy inspects TLS, its CA certificate must be in that bundle";
    match (source, sts) {
        (RootsSource::Bundle { origin, .. }, _) => {
            format!(
                "add the server's CA certificate to the bundle named by {origin} ({proxy_hint})"
            )
        }
        (_, true) => format!(
            "set AWS_CA_BUNDLE (or ca_bundle in the profile) to a PEM bundle holding the server's CA; SSL_CERT_FILE changes it for every connection ({proxy_hint})"
        ),
        (_, false) => format!(
            "set SSL_CERT_FILE to a PEM bundle holding the server's CA ({proxy_hint}); AWS_CA_BUNDLE applies to STS only"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_without_a_ca_store_falls_back_to_the_compiled_in_roots() {
        let roots = Roots::system_or_fallback(Vec::new());
        assert_eq!(roots.source, RootsSource::Compiled);
        assert!(roots.count > 100, "{}", roots.count);
        assert!(
            roots
                .describe("STS")
                .contains("Mozilla roots built into aws-ci-creds")
        );
        // A store with anything usable in it is used as is.
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["ca.test".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let system = Roots::system_or_fallback(vec![cert.der().clone()]);
        assert_eq!((system.source, system.count), (RootsSource::System, 1));
    }

    #[test]
    fn ssl_cert_file_replaces_the_system_store_and_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing here\n").unwrap();
        let env = Env::from_pairs([("SSL_CERT_FILE", empty.as_os_str())]);
        let e = Roots::default_for(&env).unwrap_err();
        assert!(e.to_string().contains("SSL_CERT_FILE"), "{e}");
        let env = Env::from_pairs([("SSL_CERT_DIR", dir.path().as_os_str())]);
        let e = Roots::default_for(&env).unwrap_err();
        assert!(e.to_string().contains("SSL_CERT_DIR"), "{e}");

        // A `:`-separated list: every directory counts.
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let certs = tempfile::tempdir().unwrap();
        std::fs::write(certs.path().join("corp.pem"), ca.pem()).unwrap();
        let list = std::env::join_paths([dir.path(), certs.path()]).unwrap();
        let roots =
            Roots::default_for(&Env::from_pairs([("SSL_CERT_DIR", list.as_os_str())])).unwrap();
        assert_eq!(roots.count, 1);
        assert!(matches!(roots.source, RootsSource::Dir { .. }));
    }
}
