//! The Content-Security-Policy the page and its worker are served with.
//!
//! The page may talk to its own origin only: a snapshot's bytes can never be
//! sent anywhere else. A `<meta>` policy would not cover the dedicated worker
//! (which holds the bytes), so the policy is a response header on everything.
//! Trunk's loader is an inline `<script>`: its SHA-256 is allowed by hash,
//! computed from the built `index.html` when the server starts.

use base64::Engine;
use sha2::{Digest, Sha256};

/// The policy, with `'sha256-…'` sources for each inline script in `index_html`.
pub fn policy_for(index_html: &str) -> String {
    let hashes: Vec<String> = inline_scripts(index_html)
        .map(|body| {
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes()))
            )
        })
        .collect();
    let script_src = std::iter::once("'self' 'wasm-unsafe-eval'".to_string())
        .chain(hashes)
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "default-src 'none'; script-src {script_src}; connect-src 'self'; worker-src 'self'; \
         img-src 'self' data:; style-src 'self'; font-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// Bodies of `<script>` elements that have no `src` attribute.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find("<script")?;
            let after = &rest[start..];
            let open_end = after.find('>')?;
            let tag = &after[..open_end];
            let body_start = open_end + 1;
            let close = after[body_start..].find("</script>")?;
            let body = &after[body_start..body_start + close];
            rest = &after[body_start + close + "</script>".len()..];
            if !tag.contains(" src=") {
                return Some(body);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_inline_scripts_only() {
        let html = r#"<head><script src="/a.js"></script><script type="module">import init from './x.js';</script></head>"#;
        let p = policy_for(html);
        let expected = base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(b"import init from './x.js';"));
        assert!(p.contains(&format!("'sha256-{expected}'")), "{p}");
        assert_eq!(p.matches("sha256-").count(), 1);
        assert!(p.starts_with("default-src 'none';"));
        assert!(p.contains("connect-src 'self';"));
    }
}
