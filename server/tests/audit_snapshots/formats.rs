//! The audit's output formats read back into (rule, key, revision) tuples:
//! JSON, CSV, SARIF, text and HTML, and the check that all five agree.

use std::path::Path;

use serde_json::Value;

use crate::{LENS, Tuple};

fn sorted(mut v: Vec<Tuple>) -> Vec<Tuple> {
    v.sort();
    v
}

fn from_json(out: &str) -> Vec<Tuple> {
    let v: Value = serde_json::from_str(out).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
            assert_eq!(
                keys,
                [
                    "rule",
                    "severity",
                    "key",
                    "resource",
                    "namespace",
                    "name",
                    "revision",
                    "provider",
                    "key_name",
                    "message"
                ]
            );
            (
                f["rule"].as_str().unwrap().to_string(),
                f["key"].as_str().map(String::from),
                f["revision"].as_i64(),
            )
        })
        .collect()
}

/// A small RFC 4180 reader (quoted cells, doubled quotes, CRLF).
fn csv_rows(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut cell)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => cell.push(c),
        }
    }
    rows
}

fn from_csv(out: &str) -> Vec<Tuple> {
    let rows = csv_rows(out);
    assert_eq!(
        rows[0].join(","),
        "rule,severity,key,resource,namespace,name,revision,provider,key_name,message"
    );
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), 10, "{r:?}");
            let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
            (r[0].clone(), opt(&r[2]), r[6].parse().ok())
        })
        .collect()
}

fn from_sarif(out: &str) -> Vec<Tuple> {
    let v: Value = serde_json::from_str(out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["ruleId"].as_str().unwrap();
            assert_eq!(rules[r["ruleIndex"].as_u64().unwrap() as usize], id);
            assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
            let key = r["properties"]["key"].as_str().map(String::from);
            if let Some(k) = &key {
                assert_eq!(
                    r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
                    k.as_str()
                );
            }
            (id.to_string(), key, r["properties"]["revision"].as_i64())
        })
        .collect()
}

fn from_text(out: &str) -> Vec<Tuple> {
    out.lines()
        .skip_while(|l| !l.starts_with("Findings: "))
        .skip(1)
        .map(|l| {
            let mut parts = l.split_whitespace();
            let _sev = parts.next().unwrap();
            let rule = parts.next().unwrap().to_string();
            let at = parts.next().unwrap().trim_end_matches(':');
            let (key, rev) = match at.rsplit_once('@') {
                Some((k, r)) => (Some(k.to_string()), r.parse().ok()),
                None if at == "-" => (None, None),
                None => (Some(at.to_string()), None),
            };
            (rule, key, rev)
        })
        .collect()
}

fn from_html(out: &str) -> Vec<Tuple> {
    assert!(out.starts_with("<!DOCTYPE html>"));
    assert!(!out.contains("<script") && !out.contains("src=\"http"));
    let body = out.split("<table id=\"findings\">").nth(1).unwrap();
    let body = body.split("</table>").next().unwrap();
    body.split("<tr class=\"sev-")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|c| {
                    let c = &c[c.find('>').unwrap() + 1..];
                    let c = c.split("</td>").next().unwrap();
                    c.replace("<code>", "").replace("</code>", "")
                })
                .collect();
            let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
            (cells[1].clone(), opt(&cells[2]), cells[5].parse().ok())
        })
        .collect()
}

/// `etcd-lens audit` in every format: the same exact multiset each time.
pub(crate) fn assert_all_formats(snap: &Path, extra: &[&str], want: &[Tuple]) {
    let want = sorted(want.to_vec());
    for (format, parse) in [
        ("json", from_json as fn(&str) -> Vec<Tuple>),
        ("csv", from_csv),
        ("sarif", from_sarif),
        ("text", from_text),
        ("html", from_html),
    ] {
        let mut args = vec!["audit", snap.to_str().unwrap(), "--format", format];
        args.extend(extra);
        let o = LENS.run(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8(o.stdout).unwrap();
        let got = sorted(parse(&out));
        if got != want {
            let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
            let unexpected: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
            panic!(
                "{format}: findings differ\nmissing: {missing:#?}\nunexpected: {unexpected:#?}\ngot {} want {}",
                got.len(),
                want.len()
            );
        }
    }
}

pub(crate) fn json_report(snap: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["audit", snap.to_str().unwrap(), "--format", "json"];
    args.extend(extra);
    let o = LENS.run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}
