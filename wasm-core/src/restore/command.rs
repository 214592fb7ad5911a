//! A command of the runbook: what a program executes (env and argv) and the
//! same as one line a POSIX shell reads back unchanged.

use serde::Serialize;

/// One environment variable of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// A command: what a program executes (`env` + `argv`, `argv[0]` found on
/// `PATH`) and the same as one line for a POSIX shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandLine {
    pub env: Vec<EnvVar>,
    pub argv: Vec<String>,
    pub shell: String,
}

impl CommandLine {
    pub(super) fn new(env: &[(&str, &str)], argv: Vec<String>) -> Self {
        let shell = env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_word(v)))
            .chain(argv.iter().map(|a| shell_word(a)))
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            env: env
                .iter()
                .map(|(k, v)| EnvVar {
                    name: (*k).to_string(),
                    value: (*v).to_string(),
                })
                .collect(),
            argv,
            shell,
        }
    }
}

/// A word a POSIX shell reads back unchanged.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
