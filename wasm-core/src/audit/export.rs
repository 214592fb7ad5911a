//! Reports of an [`AuditReport`]: JSON (the exact shape), CSV, SARIF
//! 2.1.0, a self-contained printable HTML page, and plain text. Pure functions
//! returning strings, so the page exports the same bytes the CLI prints.
//!
//! Every format lists the same findings in the same order, each with its rule,
//! key and revision; none contains a value (messages are already masked).

use serde_json::{Value, json};

use super::{AuditReport, Finding, Rule, Severity};

/// The ten fields of one finding, in order.
pub const FIELDS: [&str; 10] = [
    "rule",
    "severity",
    "key",
    "resource",
    "namespace",
    "name",
    "revision",
    "provider",
    "key_name",
    "message",
];

fn finding_json(f: &Finding) -> Value {
    json!({
        "rule": f.rule.id(),
        "severity": f.severity.as_str(),
        "key": f.key,
        "resource": f.resource,
        "namespace": f.namespace,
        "name": f.name,
        "revision": f.revision,
        "provider": f.provider,
        "key_name": f.key_name,
        "message": f.message,
    })
}

/// `{"census":{…},"findings":[{"rule","severity","key","resource","namespace","name","revision","provider","key_name","message"}…]}`
pub fn to_json(r: &AuditReport) -> String {
    let findings: Vec<Value> = r.findings.iter().map(finding_json).collect();
    json!({ "census": r.census, "exposure": r.exposure(), "findings": findings }).to_string()
}

fn csv_cell(s: &str) -> String {
    // Spreadsheet formula injection: a cell starting with = + - @ is made text.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// RFC 4180 CSV with a header row of [`FIELDS`]; empty cells for absent values.
pub fn to_csv(r: &AuditReport) -> String {
    let mut out = FIELDS.join(",");
    out.push_str("\r\n");
    for f in &r.findings {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let row = [
            f.rule.id().to_string(),
            f.severity.as_str().to_string(),
            o(&f.key),
            o(&f.resource),
            o(&f.namespace),
            o(&f.name),
            f.revision.map(|r| r.to_string()).unwrap_or_default(),
            o(&f.provider),
            o(&f.key_name),
            f.message.clone(),
        ];
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning's `security-severity` (CVSS-like 0–10).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// SARIF 2.1.0: one run of the `etcd-lens` tool; every rule described; one
/// result per finding, located in `artifact_uri` (the snapshot file) with the
/// etcd key as a logical location and key/revision in `properties`.
pub fn to_sarif(r: &AuditReport, artifact_uri: &str) -> String {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id(),
                "name": rule.id(),
                "shortDescription": { "text": rule.title() },
                "fullDescription": { "text": format!("{}. {}", rule.title(), rule.help()) },
                "help": { "text": rule.help() },
                "defaultConfiguration": { "level": sarif_level(rule.severity()) },
                "properties": {
                    "security-severity": security_severity(rule.severity()),
                    "problem.severity": rule.severity().as_str(),
                    "tags": ["security", "etcd", "kubernetes"],
                },
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let rule_index = Rule::ALL.iter().position(|x| *x == f.rule).unwrap_or(0);
            let mut location = json!({
                "physicalLocation": { "artifactLocation": { "uri": artifact_uri } },
            });
            if let Some(k) = &f.key {
                location["logicalLocations"] = json!([{
                    "fullyQualifiedName": k,
                    "kind": "object",
                }]);
            }
            let fingerprint = format!(
                "{}|{}|{}|{}|{}|{}",
                f.rule.id(),
                f.key.as_deref().unwrap_or(""),
                f.revision.map(|r| r.to_string()).unwrap_or_default(),
                f.details.page.map(|p| p.to_string()).unwrap_or_default(),
                f.details.field_path.as_deref().unwrap_or(""),
                f.details.pattern.as_deref().unwrap_or("")
            );
            json!({
                "ruleId": f.rule.id(),
                "ruleIndex": rule_index,
                "level": sarif_level(f.severity),
                "message": { "text": f.message },
                "locations": [location],
                "partialFingerprints": { "etcdLensFinding/v1": fingerprint },
                "properties": {
                    "severity": f.severity.as_str(),
                    "key": f.key,
                    "resource": f.resource,
                    "namespace": f.namespace,
                    "name": f.name,
                    "revision": f.revision,
                    "provider": f.provider,
                    "key_name": f.key_name,
                    "details": f.details,
                },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "etcd-lens",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "artifacts": [{ "location": { "uri": artifact_uri } }],
            "results": results,
            "properties": { "census": r.census },
        }],
    })
    .to_string()
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const HTML_STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}\
table{border-collapse:collapse;width:100%;margin:1em 0}\
th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.num{text-align:right}\
.sev-critical{background:#fdd}.sev-high{background:#fec}.sev-medium{background:#ffe}\
.sev-low{background:#eef}.sev-info{background:#f8f8f8}\
code{font-family:ui-monospace,monospace;word-break:break-all}\
@media print{body{margin:0}tr{break-inside:avoid}}";

/// A self-contained printable page: no scripts, no external resources.
pub fn to_html(r: &AuditReport, title: &str) -> String {
    let e = html_escape;
    let c = &r.census;
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
    o.push_str(&format!(
        "<title>{}</title><style>{HTML_STYLE}</style></head><body>\n",
        e(title)
    ));
    o.push_str(&format!("<h1>{}</h1>\n", e(title)));
    o.push_str("<h2>Census</h2>\n<table id=\"census\"><tbody>\n");
    let row = |o: &mut String, k: &str, v: String| {
        o.push_str(&format!(
            "<tr><th>{}</th><td class=\"num\">{}</td></tr>\n",
            e(k),
            e(&v)
        ));
    };
    row(&mut o, "Revision", c.revision.to_string());
    row(&mut o, "Secrets", c.secrets_total.to_string());
    row(&mut o, "Plaintext", c.plaintext.to_string());
    row(&mut o, "Encrypted", c.encrypted.to_string());
    row(&mut o, "Unreadable", c.unreadable.to_string());
    for (p, n) in &c.per_provider {
        row(&mut o, &format!("Provider {p}"), n.to_string());
    }
    for (k, n) in &c.per_key {
        row(&mut o, &format!("Key {k}"), n.to_string());
    }
    if let Some(d) = &c.decrypted {
        for (k, n) in d {
            row(&mut o, &format!("Decrypted with {k}"), n.to_string());
        }
    }
    if let Some(n) = c.undecryptable {
        row(&mut o, "Undecryptable", n.to_string());
    }
    if let Some(n) = c.needs_kms {
        row(&mut o, "Needs the KMS", n.to_string());
    }
    row(
        &mut o,
        "Objects scanned for credentials",
        c.objects_scanned.to_string(),
    );
    row(
        &mut o,
        "Free/unreachable pages searched",
        c.unreachable_pages_scanned.to_string(),
    );
    o.push_str("</tbody></table>\n");
    o.push_str(&format!("<h2>Findings ({})</h2>\n", r.findings.len()));
    o.push_str("<table id=\"findings\"><thead><tr>");
    for h in [
        "Severity",
        "Rule",
        "Key",
        "Namespace",
        "Name",
        "Revision",
        "Provider",
        "Key name",
        "Message",
    ] {
        o.push_str(&format!("<th>{h}</th>"));
    }
    o.push_str("</tr></thead><tbody>\n");
    for f in &r.findings {
        let s = |v: &Option<String>| e(v.as_deref().unwrap_or(""));
        o.push_str(&format!(
            "<tr class=\"sev-{sev}\" data-rule=\"{rule}\"><td>{sev}</td><td>{rule}</td><td><code>{key}</code></td><td>{ns}</td><td>{name}</td><td class=\"num\">{rev}</td><td>{prov}</td><td>{kn}</td><td>{msg}</td></tr>\n",
            sev = f.severity.as_str(),
            rule = f.rule.id(),
            key = s(&f.key),
            ns = s(&f.namespace),
            name = s(&f.name),
            rev = f.revision.map(|r| r.to_string()).unwrap_or_default(),
            prov = s(&f.provider),
            kn = s(&f.key_name),
            msg = e(&f.message),
        ));
    }
    o.push_str("</tbody></table>\n<h2>Rules</h2>\n<dl>\n");
    for rule in Rule::ALL {
        o.push_str(&format!(
            "<dt><code>{}</code> ({})</dt><dd>{}. {}</dd>\n",
            rule.id(),
            rule.severity().as_str(),
            e(rule.title()),
            e(rule.help())
        ));
    }
    o.push_str("</dl>\n</body></html>\n");
    o
}

/// Human-readable text: a census block, then one line per finding
/// (`SEVERITY rule key@revision: message`).
pub fn to_text(r: &AuditReport) -> String {
    let c = &r.census;
    let mut o = format!(
        "Secrets: {} ({} plaintext, {} encrypted, {} unreadable) at revision {}\n",
        c.secrets_total, c.plaintext, c.encrypted, c.unreadable, c.revision
    );
    for (p, n) in &c.per_provider {
        o.push_str(&format!("  provider {p}: {n}\n"));
    }
    for (k, n) in &c.per_key {
        o.push_str(&format!("  key {k}: {n}\n"));
    }
    if let Some(d) = &c.decrypted {
        for (k, n) in d {
            o.push_str(&format!("  decrypted with {k}: {n}\n"));
        }
    }
    if let Some(n) = c.undecryptable {
        o.push_str(&format!("  undecryptable: {n}\n"));
    }
    if let Some(n) = c.needs_kms {
        o.push_str(&format!("  needs the KMS: {n}\n"));
    }
    o.push_str(&r.exposure().describe());
    o.push('\n');
    o.push_str(&format!("Findings: {}\n", r.findings.len()));
    for f in &r.findings {
        let at = match (&f.key, f.revision) {
            (Some(k), Some(rev)) => format!("{k}@{rev}"),
            (Some(k), None) => k.clone(),
            (None, Some(rev)) => format!("-@{rev}"),
            (None, None) => "-".into(),
        };
        o.push_str(&format!(
            "{:<8} {} {}: {}\n",
            f.severity.as_str().to_uppercase(),
            f.rule.id(),
            at,
            f.message
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Details, Finding};

    fn report() -> AuditReport {
        AuditReport {
            findings: vec![Finding {
                rule: Rule::CredentialInObject,
                severity: Severity::High,
                key: Some("/registry/configmaps/a/b".into()),
                resource: Some("configmaps".into()),
                namespace: Some("a".into()),
                name: Some("b".into()),
                revision: Some(7),
                provider: None,
                key_name: None,
                message: "=cmd, \"quoted\" <b>".into(),
                details: Details::default(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let csv = to_csv(&report());
        assert!(csv.ends_with(",\"'=cmd, \"\"quoted\"\" <b>\"\r\n"), "{csv}");
    }

    #[test]
    fn html_escapes() {
        let h = to_html(&report(), "t<");
        assert!(h.contains("&lt;b&gt;") && !h.contains("<b>") && h.contains("t&lt;"));
    }

    #[test]
    fn json_has_exactly_the_fields() {
        let v: Value = serde_json::from_str(&to_json(&report())).unwrap();
        let f = v["findings"][0].as_object().unwrap();
        let mut keys: Vec<&str> = f.keys().map(String::as_str).collect();
        keys.sort();
        // The ten fields the audit issue specifies, spelled out here.
        let mut want = vec![
            "rule",
            "severity",
            "key",
            "resource",
            "namespace",
            "name",
            "revision",
            "provider",
            "key_name",
            "message",
        ];
        assert_eq!(
            to_csv(&report()).lines().next().unwrap(),
            want.join(","),
            "the CSV header, in order"
        );
        want.sort();
        assert_eq!(keys, want);
    }
}
