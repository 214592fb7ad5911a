//! Running the `etcd-lens` binary from a test: `const LENS: Lens = Lens(env!("CARGO_BIN_EXE_etcd-lens"));`.

use std::process::{Command, Output};

/// The `etcd-lens` binary under test (its path, from Cargo).
pub struct Lens(pub &'static str);

impl Lens {
    /// Run with `args`; `ETCD_LENS_PASSPHRASE` is cleared so the caller's
    /// environment cannot unlock a file by accident.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// Run with `args` and these environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(self.0);
        c.args(args).env_remove("ETCD_LENS_PASSPHRASE");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("running etcd-lens")
    }

    /// Run; panic with stderr unless it succeeds; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_env(args, &[]).0
    }

    /// Run with `env`; panic with stderr unless it succeeds; (stdout, stderr).
    pub fn ok_env(&self, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
        let o = self.run_env(args, env);
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "etcd-lens {args:?}: {stderr}");
        (String::from_utf8(o.stdout).expect("utf-8 output"), stderr)
    }
}
