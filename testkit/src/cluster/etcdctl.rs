//! One etcdctl invocation: the binary plus the global flags (endpoints, TLS
//! files, user) that every command of a test repeats.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub(super) struct Etcdctl {
    binary: PathBuf,
    global: Vec<String>,
}

impl Etcdctl {
    /// `command_timeout` bounds one request; a caller can still override it
    /// with its own `--command-timeout=…` argument (the last flag wins).
    pub(super) fn new(binary: &Path, endpoints: &[&str], command_timeout: &str) -> Self {
        Self {
            binary: binary.to_path_buf(),
            global: vec![
                format!("--endpoints={}", endpoints.join(",")),
                "--dial-timeout=2s".to_string(),
                format!("--command-timeout={command_timeout}"),
            ],
        }
    }

    pub(super) fn flag(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.global
            .push(format!("--{name}={}", value.as_ref().to_string_lossy()));
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.binary);
        c.env("ETCDCTL_API", "3").args(&self.global).args(args);
        c
    }

    pub(super) fn output(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.binary.display()))
    }

    /// Standard output; panics with standard error when etcdctl fails.
    pub(super) fn run(&self, args: &[&str]) -> String {
        checked(args, self.output(args))
    }

    /// Like [`Self::output`], with `input` on standard input.
    pub(super) fn output_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.binary.display()));
        // An etcdctl that gave up (say, it could not dial) closes its end
        // early; its exit status and stderr then tell why, not this write.
        let written = child.stdin.take().expect("etcdctl stdin").write_all(input);
        if let Err(e) = written {
            assert!(
                e.kind() == std::io::ErrorKind::BrokenPipe,
                "writing to etcdctl: {e}"
            );
        }
        child.wait_with_output().expect("waiting for etcdctl")
    }
}

pub(super) fn checked(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "etcdctl {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
