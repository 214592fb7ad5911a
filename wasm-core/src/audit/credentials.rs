//! Credential patterns in objects that are not Secrets.
//!
//! Where we look (JSON of the decoded object): ConfigMap `data` values; every
//! container `env[].value` (Pods and pod templates at any depth: Deployments,
//! StatefulSets, DaemonSets, Jobs, CronJobs, ReplicaSets…); `metadata.annotations`
//! values, and inside `kubectl.kubernetes.io/last-applied-configuration` (JSON
//! text) the same places again.
//!
//! What we look for: expressions after gitleaks' public rules (aws-access-token,
//! private-key, jwt, github-pat/oauth/app/refresh/fine-grained, gitlab-pat,
//! slack-bot/user/webhook, gcp-api-key) plus basic-auth URLs, and, when none of
//! those matched, a non-empty value under a `password`/`token`/`secret`-named key.
//!
//! Look-alikes we deliberately do not flag: AWS's documented example keys
//! (`…EXAMPLE`), public keys and certificates, JWT-shaped text whose header is
//! not base64url JSON with `alg`, URLs without a password or with a placeholder
//! (`${VAR}`, `$(VAR)`, `<x>`, `{{x}}`, `***`), and names that refer to a
//! credential rather than hold one (`secretName`, `tokenFile`, `passwordPath`,
//! `token_ttl`, `password_min_length`, …).
//!
//! Values are never returned: only [`mask`]ed forms.

use std::sync::OnceLock;

use base64::Engine;
use regex::Regex;
use serde_json::Value;

/// The annotation `kubectl apply` writes: the applied object as JSON text.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Annotations and values are scanned only up to this many bytes each (a value
/// can be up to 1.5 MiB; credentials are short, and a limit keeps the scan linear and small).
const MAX_SCAN_BYTES: usize = 256 * 1024;
/// Nesting of last-applied JSON inside last-applied JSON is not followed beyond this.
const MAX_EMBED_DEPTH: u32 = 2;

/// One match: where, which pattern, and the value masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialHit {
    /// A JSONPath-like path: `data.db_url`, `spec.template.spec.containers[0].env[1].value`,
    /// `metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'].data.x`.
    pub field_path: String,
    /// Pattern id (see [`PATTERN_IDS`]).
    pub pattern: &'static str,
    pub masked: String,
}

struct Pattern {
    id: &'static str,
    re: &'static str,
    /// How many leading characters of the match are the pattern's fixed prefix (shown).
    shown: usize,
}

/// Named key with a non-empty value (used only when no other pattern matched).
pub const NAMED_PATTERN: &str = "credential-named-key";

const PATTERNS: &[Pattern] = &[
    // gitleaks aws-access-token
    Pattern {
        id: "aws-access-key-id",
        re: r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
        shown: 4,
    },
    // gitleaks private-key (a body of 64+ characters between the armour lines)
    Pattern {
        id: "private-key",
        re: r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]{64,}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
        shown: 10,
    },
    // gitleaks jwt (three segments; the header is checked further below)
    Pattern {
        id: "jwt",
        re: r"\bey[A-Za-z0-9_-]{17,}\.ey[A-Za-z0-9_-]{17,}\.[A-Za-z0-9_-]{10,}",
        shown: 3,
    },
    // gitleaks github-pat, github-oauth, github-app-token, github-refresh-token, github-fine-grained-pat
    Pattern {
        id: "github-token",
        re: r"\b(?:gh[pousr]_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z_]{82})\b",
        shown: 4,
    },
    // gitleaks gitlab-pat
    Pattern {
        id: "gitlab-token",
        re: r"\bglpat-[0-9A-Za-z_-]{20}\b",
        shown: 6,
    },
    // gitleaks slack-bot-token, slack-user-token, slack-legacy tokens
    Pattern {
        id: "slack-token",
        re: r"\bxox[baprse]-(?:[0-9]{10,13}-){1,3}[A-Za-z0-9-]{8,}",
        shown: 5,
    },
    // gitleaks slack-webhook-url
    Pattern {
        id: "slack-webhook",
        re: r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}",
        shown: 15,
    },
    // gitleaks gcp-api-key
    Pattern {
        id: "google-api-key",
        re: r"\bAIza[0-9A-Za-z_-]{35}\b",
        shown: 4,
    },
    // scheme://user:password@host
    Pattern {
        id: "basic-auth-url",
        re: r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@]+:([^\s/@]+)@[^\s/@]+",
        shown: 0,
    },
];

/// Every pattern id this module reports.
pub const PATTERN_IDS: [&str; 10] = [
    "aws-access-key-id",
    "private-key",
    "jwt",
    "github-token",
    "gitlab-token",
    "slack-token",
    "slack-webhook",
    "google-api-key",
    "basic-auth-url",
    NAMED_PATTERN,
];

fn compiled() -> &'static [(Regex, &'static Pattern)] {
    static RE: OnceLock<Vec<(Regex, &'static Pattern)>> = OnceLock::new();
    RE.get_or_init(|| {
        PATTERNS
            .iter()
            // Constant expressions: `every_expression_compiles` keeps them valid.
            .filter_map(|p| Regex::new(p.re).ok().map(|r| (r, p)))
            .collect()
    })
}

fn named_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        #[allow(clippy::expect_used)]
        Regex::new(r"(?i)(passw(?:or)?d|pwd|token|secret)").expect("a constant expression")
    })
}

/// Shows `shown` leading characters, then `…` and the length; nothing else of the value.
pub fn mask(value: &str, shown: usize) -> String {
    let n = value.chars().count();
    let keep: String = if n > shown * 2 {
        value.chars().take(shown).collect()
    } else {
        String::new()
    };
    format!("{keep}…({n} chars)")
}

fn is_placeholder(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || (v.starts_with("${") && v.ends_with('}'))
        || (v.starts_with("$(") && v.ends_with(')'))
        || (v.starts_with('<') && v.ends_with('>'))
        || (v.starts_with("{{") && v.ends_with("}}"))
        || v.chars()
            .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.')
        || v.starts_with('$')
}

/// A JWT header must be base64url JSON naming an algorithm.
fn jwt_header_ok(token: &str) -> bool {
    let Some(h) = token.split('.').next() else {
        return false;
    };
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(h.trim_end_matches('='))
    else {
        return false;
    };
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .is_some_and(|j| j.get("alg").is_some_and(Value::is_string))
}

/// Names that point at a credential, or configure one, rather than hold it.
fn is_reference_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    const SUFFIXES: [&str; 22] = [
        "name",
        "names",
        "ref",
        "file",
        "path",
        "dir",
        "mount",
        "ttl",
        "length",
        "len",
        "seconds",
        "timeout",
        "expiry",
        "expiration",
        "expires",
        "enabled",
        "policy",
        "type",
        "mode",
        "count",
        "min",
        "max",
    ];
    SUFFIXES.iter().any(|s| n.ends_with(s))
}

/// The patterns of `value` (found under `name`, when it has one) at `path`.
pub fn scan_value(path: &str, name: Option<&str>, value: &str, out: &mut Vec<CredentialHit>) {
    // At most MAX_SCAN_BYTES bytes, cut at a character boundary.
    let value = if value.len() <= MAX_SCAN_BYTES {
        value
    } else {
        let mut end = MAX_SCAN_BYTES;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        &value[..end]
    };
    let before = out.len();
    for (re, p) in compiled() {
        for m in re.captures_iter(value) {
            let Some(whole) = m.get(0) else { continue };
            let s = whole.as_str();
            let keep = match p.id {
                "aws-access-key-id" if s.ends_with("EXAMPLE") => false,
                "jwt" => jwt_header_ok(s),
                "basic-auth-url" => m.get(1).is_some_and(|pw| !is_placeholder(pw.as_str())),
                _ => true,
            };
            if !keep {
                continue;
            }
            let masked = if p.id == "basic-auth-url" {
                // scheme://user:****@host — the user and host are not the secret.
                match (s.split_once("://"), m.get(1)) {
                    (Some((scheme, rest)), Some(pw)) => {
                        let user = rest.split(':').next().unwrap_or_default();
                        let host = &s[pw.end() - whole.start() + 1..];
                        format!("{scheme}://{user}:****@{host}")
                    }
                    _ => mask(s, 0),
                }
            } else {
                mask(s, p.shown)
            };
            // One hit per (path, pattern).
            if !out[before..].iter().any(|h| h.pattern == p.id) {
                out.push(CredentialHit {
                    field_path: path.to_string(),
                    pattern: p.id,
                    masked,
                });
            }
        }
    }
    if out.len() == before
        && let Some(name) = name
        && named_re().is_match(name)
        && !is_reference_name(name)
        && !is_placeholder(value)
    {
        out.push(CredentialHit {
            field_path: path.to_string(),
            pattern: NAMED_PATTERN,
            masked: mask(value, 0),
        });
    }
}

/// A map key as a path segment: `.name`, or `['a/b.c']` when it is not an identifier.
fn seg(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        format!(".{key}")
    } else {
        format!("['{}']", key.replace('\'', "\\'"))
    }
}

fn join(base: &str, rest: &str) -> String {
    if base.is_empty() {
        rest.trim_start_matches('.').to_string()
    } else {
        format!("{base}{rest}")
    }
}

/// Scan a decoded non-Secret object of `kind`.
pub fn scan_object(kind: &str, object: &Value) -> Vec<CredentialHit> {
    let mut out = Vec::new();
    scan_in(kind, object, "", 0, &mut out);
    out
}

fn scan_in(kind: &str, object: &Value, base: &str, depth: u32, out: &mut Vec<CredentialHit>) {
    if kind == "ConfigMap"
        && let Some(data) = object.get("data").and_then(Value::as_object)
    {
        for (k, v) in data {
            if let Some(s) = v.as_str() {
                scan_value(&join(base, &format!(".data{}", seg(k))), Some(k), s, out);
            }
        }
    }
    if let Some(ann) = object
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
    {
        for (k, v) in ann {
            let Some(s) = v.as_str() else { continue };
            let path = join(base, &format!(".metadata.annotations{}", seg(k)));
            if k == LAST_APPLIED {
                if depth < MAX_EMBED_DEPTH
                    && let Ok(inner) = serde_json::from_str::<Value>(s)
                {
                    let inner_kind = inner.get("kind").and_then(Value::as_str).unwrap_or("");
                    // A Secret's own last-applied copy is the Secret rules' business.
                    if inner_kind != "Secret" {
                        scan_in(inner_kind, &inner, &path, depth + 1, out);
                    }
                }
                continue;
            }
            scan_value(&path, Some(k), s, out);
        }
    }
    env_values(object, &join(base, ""), 0, out);
}

/// Every `env` list of containers anywhere under `v` (pod templates nest at various depths).
fn env_values(v: &Value, path: &str, depth: u32, out: &mut Vec<CredentialHit>) {
    // Pod templates sit at most ~8 levels down (CronJob → jobTemplate → … → containers).
    const MAX_DEPTH: u32 = 16;
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if depth == 0 && (k == "metadata" || k == "status") {
                    continue;
                }
                let p = format!("{path}{}", seg(k));
                if matches!(
                    k.as_str(),
                    "containers" | "initContainers" | "ephemeralContainers"
                ) && let Some(cs) = child.as_array()
                {
                    for (ci, c) in cs.iter().enumerate() {
                        let Some(env) = c.get("env").and_then(Value::as_array) else {
                            continue;
                        };
                        for (ei, e) in env.iter().enumerate() {
                            let (Some(name), Some(value)) = (
                                e.get("name").and_then(Value::as_str),
                                e.get("value").and_then(Value::as_str),
                            ) else {
                                continue;
                            };
                            let at = format!("{p}[{ci}].env[{ei}].value");
                            scan_value(at.trim_start_matches('.'), Some(name), value, out);
                        }
                    }
                } else {
                    env_values(child, &p, depth + 1, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                env_values(child, &format!("{path}[{i}]"), depth + 1, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(name: &str, v: &str) -> Vec<&'static str> {
        let mut out = Vec::new();
        scan_value("p", Some(name), v, &mut out);
        out.into_iter().map(|h| h.pattern).collect()
    }

    #[test]
    fn every_expression_compiles() {
        assert_eq!(compiled().len(), PATTERNS.len());
        assert!(named_re().is_match("DB_PASSWORD"));
    }

    #[test]
    fn patterns_and_look_alikes() {
        assert_eq!(hits("k", "id=AKIAZ7Q2LMNOPQRSTUVW"), ["aws-access-key-id"]);
        assert!(hits("k", "AKIAIOSFODNN7EXAMPLE").is_empty());
        assert!(hits("k", "AKIA-not-a-key").is_empty());
        assert_eq!(
            hits("k", &format!("ghp_{}", "a1B2".repeat(9))),
            ["github-token"]
        );
        assert!(hits("k", "ghp_short").is_empty());
        assert_eq!(hits("k", "glpat-abcdefghij0123456789"), ["gitlab-token"]);
        assert_eq!(
            hits("k", "postgres://app:hunter2@db:5432/app"),
            ["basic-auth-url"]
        );
        assert!(hits("k", "postgres://app:${DB_PASSWORD}@db/app").is_empty());
        assert!(hits("k", "https://example.com:8443/path").is_empty());
        assert!(hits("k", "mailto:ops@example.com").is_empty());
        assert_eq!(hits("password", "hunter2"), [NAMED_PATTERN]);
        assert!(hits("secretName", "my-tls").is_empty());
        assert!(hits("password_min_length", "12").is_empty());
        assert!(hits("password", "").is_empty());
        assert!(hits("token", "${TOKEN}").is_empty());
    }

    #[test]
    fn the_scan_stops_after_256_kib_of_bytes_not_characters() {
        let key = "AKIAZ7Q2LMNOPQRSTUVW";
        // 150 000 two-byte characters (300 000 bytes) before the key: past the cap.
        let far = format!("{} {key}", "é".repeat(150_000));
        assert!(hits("k", &far).is_empty(), "scanned beyond 256 KiB");
        // The same count of one-byte characters (150 000 bytes): inside.
        let near = format!("{} {key}", "e".repeat(150_000));
        assert_eq!(hits("k", &near), ["aws-access-key-id"]);
        // A cap in the middle of a character does not split it.
        let edge = format!("{}é{key}", "e".repeat(MAX_SCAN_BYTES - 1));
        assert!(hits("k", &edge).is_empty());
    }

    #[test]
    fn masks_keep_only_the_fixed_prefix() {
        let mut out = Vec::new();
        scan_value(
            "p",
            None,
            "x postgres://app:hunter2@db:5432/app y",
            &mut out,
        );
        assert_eq!(out[0].masked, "postgres://app:****@db:5432");
        assert_eq!(mask("AKIAZ7Q2LMNOPQRSTUVW", 4), "AKIA…(20 chars)");
        assert_eq!(mask("abc", 4), "…(3 chars)");
    }
}
