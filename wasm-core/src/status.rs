//! `snapshot status` parity: the numbers `etcdctl snapshot status -w json`
//! (3.4), `etcdutl snapshot status -w json` (3.5) and etcdutl 3.6+ print.
//!
//! What they compute, read from etcd's `v3_snapshot.go` and checked against
//! real 3.4.23 and 3.5.1 binaries by the tests:
//! - run bbolt's `tx.Check()` first and fail with every problem found;
//! - `hash`: CRC32-Castagnoli over, for each top-level bucket in bbolt order,
//!   its name, then each entry's key and value (`ForEach` gives nested buckets
//!   a nil value, which adds nothing; their contents are not hashed);
//! - `totalKey`: 3.4/3.5 count every entry of every top-level bucket; 3.6
//!   counts live user keys, replaying the `key` bucket (a tombstone removes);
//! - `revision`: the main revision of the last `key`-bucket entry (a tombstone too);
//! - 3.6+ reject a `key`-bucket key that is not 17/18 bytes with `'_'` at byte
//!   8, or whose numbers are negative ([`Revision::parse_v36`]); 3.4/3.5 read
//!   the numbers of any key of 17 bytes or more;
//! - `totalSize`: the meta's high-water page id × page size;
//! - 3.6 adds `version`: `meta/storageVersion` as a semantic version, `""` when absent.
//!
//! etcdutl 3.6 and 3.7 compute the same numbers (their `Status` differs only
//! in the protobuf library that decodes the values); the tests check both
//! against real binaries built from etcd's Go modules.
//!
//! Which convention a file follows is decided here, once ([`Compat::of_file`]):
//! the page and the CLI both ask.
//!
//! [`stream`] computes the same numbers from the bytes passing by once, in
//! file order, for a caller that cannot read the file again: both
//! conventions, the file's own (`storageVersion` in `meta`) picked at the end.

pub mod parallel;
pub mod stream;
mod tally;

use std::ops::ControlFlow;

use serde::Serialize;

use tally::{KeySet, Live, Tally};

use crate::ReadAt;
use crate::bolt::{BoltError, Db, Loc, Problem, check_with};
use crate::mvcc::RevisionError;
use crate::mvcc::revision::Revision;

/// Which tool's output to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compat {
    /// etcdctl 3.4 and etcdutl 3.5 (the same numbers and JSON).
    #[default]
    V35,
    /// etcdutl 3.6 and later (3.7 prints the same).
    V36,
}

impl Compat {
    /// The convention of the etcd release that wrote the file. etcd 3.6 and
    /// later record `storageVersion` in the `meta` bucket (3.4 and 3.5 never
    /// do; `etcdutl migrate` to 3.5 deletes it), so a file that has one
    /// follows etcdutl 3.6's numbers, and any other 3.4/3.5's. A value that is
    /// not a semantic version still counts: etcdutl 3.6 then prints `""`.
    pub fn of_file(db: &Db<impl ReadAt>) -> Result<Self, BoltError> {
        let Some(meta) = db.bucket(&db.root(), b"meta")? else {
            return Ok(Compat::V35);
        };
        Ok(match db.get(&meta, b"storageVersion")? {
            Some(_) => Compat::V36,
            None => Compat::V35,
        })
    }

    /// The other convention.
    pub fn other(self) -> Self {
        match self {
            Compat::V35 => Compat::V36,
            Compat::V36 => Compat::V35,
        }
    }

    /// The tools whose numbers these are, for people.
    pub fn tool(self) -> &'static str {
        match self {
            Compat::V35 => "etcdctl 3.4 / etcdutl 3.5",
            Compat::V36 => "etcdutl 3.6",
        }
    }
}

/// The status numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub hash: u32,
    pub revision: i64,
    #[serde(rename = "totalKey")]
    pub total_key: u64,
    #[serde(rename = "totalSize")]
    pub total_size: u64,
    /// The storage version (3.6 only; empty when the snapshot has none).
    pub version: String,
}

impl Status {
    /// The exact JSON line the tool prints (without the newline).
    pub fn to_json(&self, compat: Compat) -> String {
        let base = format!(
            "{{\"hash\":{},\"revision\":{},\"totalKey\":{},\"totalSize\":{}",
            self.hash, self.revision, self.total_key, self.total_size
        );
        match compat {
            Compat::V35 => base + "}",
            Compat::V36 => format!(
                "{base},\"version\":{}}}",
                serde_json::Value::String(self.version.clone())
            ),
        }
    }
}

/// Why there is no status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatusError {
    #[error(transparent)]
    Bolt(#[from] BoltError),
    #[error("snapshot file integrity check failed. {} errors found: {}", problems.len(), join(problems))]
    Integrity { problems: Vec<Problem> },
    #[error("page {}, offset {}: cannot parse revision key {key_hex}: {error}", at.page, at.offset)]
    RevisionKey {
        at: Loc,
        key_hex: String,
        error: RevisionError,
    },
    #[error("page {}, offset {}: the value of revision key {key_hex} is not an mvccpb.KeyValue: {reason}", at.page, at.offset)]
    KeyValue {
        at: Loc,
        key_hex: String,
        reason: String,
    },
}

fn join(p: &[Problem]) -> String {
    p.iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Compute the status. Reads every page once.
pub fn status(db: &Db<impl ReadAt>, compat: Compat) -> Result<Status, StatusError> {
    let w = walk(db, compat == Compat::V36);
    finish(db, &w, compat)
}

/// What `snapshot status` prints that needs no walk, in the file's own
/// convention: shown at once, while the walk computes the hash and the key
/// count (and may still refuse the file: these numbers are not final).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstNumbers {
    pub follows: Compat,
    /// The main revision of the `key` bucket's last key, by one descent to
    /// its rightmost leaf (0 without keys); `None` when that leaf is empty or
    /// the key does not parse, which the walk then explains.
    pub revision: Option<i64>,
    pub total_size: u64,
    /// etcdutl 3.6's `version` (empty for a 3.4/3.5 file).
    pub version: String,
}

/// The numbers of [`status`] that a few page reads give: the metas, the
/// `meta` bucket and the `key` bucket's rightmost path.
pub fn first_numbers(db: &Db<impl ReadAt>) -> Result<FirstNumbers, BoltError> {
    let follows = Compat::of_file(db)?;
    let revision = match db.bucket(&db.root(), b"key")? {
        None => Some(0),
        Some(kb) => match db.last_key(&kb)? {
            None if kb.is_inline() => Some(0),
            None => None,
            Some(k) => Revision::parse(&k).ok().map(|r| r.main),
        },
    };
    let mut version = String::new();
    if follows == Compat::V36
        && let Some(meta) = db.bucket(&db.root(), b"meta")?
        && let Some(v) = db.get(&meta, b"storageVersion")?
    {
        version = semver(&v).unwrap_or_default();
    }
    Ok(FirstNumbers {
        follows,
        revision,
        total_size: db.hwm().0.saturating_mul(db.page_size()),
        version,
    })
}

/// Both tools' status and bbolt's consistency check, from one walk over
/// every page: what a viewer shows first.
pub struct StatusAndCheck {
    /// etcdctl 3.4 / etcdutl 3.5.
    pub v35: Result<Status, StatusError>,
    /// etcdutl 3.6.
    pub v36: Result<Status, StatusError>,
    /// The file's own convention ([`Compat::of_file`]); [`Compat::V35`] when
    /// the meta bucket cannot be read (both results then carry the error).
    pub follows: Compat,
    pub check: crate::bolt::CheckReport,
}

impl StatusAndCheck {
    /// The status in the file's own convention, then the other one.
    pub fn native_first(&self) -> (&Result<Status, StatusError>, &Result<Status, StatusError>) {
        match self.follows {
            Compat::V35 => (&self.v35, &self.v36),
            Compat::V36 => (&self.v36, &self.v35),
        }
    }
}

pub fn status_and_check(db: &Db<impl ReadAt>) -> StatusAndCheck {
    let w = walk(db, true);
    StatusAndCheck {
        v35: finish(db, &w, Compat::V35),
        v36: finish(db, &w, Compat::V36),
        follows: Compat::of_file(db).unwrap_or_default(),
        check: w.report,
    }
}

struct Walk {
    hash: u32,
    revision: i64,
    /// Every key of every bucket (3.5).
    total_key: u64,
    /// Live keys of the key bucket (3.6), when asked for.
    live_keys: Option<u64>,
    failure: Option<StatusError>,
    /// A key etcd 3.6+ rejects but 3.4/3.5 accept: fails the 3.6 status only.
    v36_failure: Option<StatusError>,
    report: crate::bolt::CheckReport,
}

fn walk(db: &Db<impl ReadAt>, v36: bool) -> Walk {
    let mut t = Tally::new(if v36 {
        Live::Set(KeySet::default())
    } else {
        Live::Off
    });
    let mut in_key_bucket = false;
    let report = check_with(db, &mut |e| {
        match e.path.len() {
            0 => {
                t.bucket(e.key);
                in_key_bucket = e.key == b"key";
            }
            1 => return t.entry(e, in_key_bucket),
            _ => {}
        }
        ControlFlow::Continue(())
    });
    Walk::of(t, report)
}

impl Walk {
    fn of(t: Tally, report: crate::bolt::CheckReport) -> Self {
        Walk {
            hash: t.hash,
            revision: t.revision,
            total_key: t.total_key,
            live_keys: t.live_count(),
            failure: t.failure,
            v36_failure: t.v36_failure,
            report,
        }
    }
}

fn finish(db: &Db<impl ReadAt>, w: &Walk, compat: Compat) -> Result<Status, StatusError> {
    // A visitor failure stops the walk early, which would make the rest of the
    // file look unreachable: report it first.
    if let Some(f) = &w.failure {
        return Err(f.clone());
    }
    if !w.report.problems.is_empty() {
        return Err(StatusError::Integrity {
            problems: w.report.problems.clone(),
        });
    }
    let mut version = String::new();
    let mut total_key = w.total_key;
    if compat == Compat::V36 {
        // After the integrity check, as etcdutl runs tx.Check() first.
        if let Some(f) = &w.v36_failure {
            return Err(f.clone());
        }
        total_key = w.live_keys.unwrap_or_default();
        if let Some(meta) = db.bucket(&db.root(), b"meta")?
            && let Some(v) = db.get(&meta, b"storageVersion")?
        {
            version = semver(&v).unwrap_or_default();
        }
    }
    Ok(Status {
        hash: w.hash,
        revision: w.revision,
        total_key,
        total_size: db.hwm().0.saturating_mul(db.page_size()),
        version,
    })
}

/// `semver.NewVersion(s).String()` of coreos/go-semver: `X.Y.Z[-pre][+meta]`
/// with decimal numbers; `None` when it does not parse.
pub fn semver(bytes: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(bytes).ok()?;
    let (rest, meta) = match s.split_once('+') {
        Some((r, m)) => (r, Some(m)),
        None => (s, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let nums: Vec<&str> = core.split('.').collect();
    if nums.len() != 3 {
        return None;
    }
    let mut out = Vec::new();
    for n in nums {
        out.push(n.parse::<i64>().ok()?.to_string());
    }
    let mut v = out.join(".");
    if let Some(p) = pre {
        v = format!("{v}-{p}");
    }
    if let Some(m) = meta {
        v = format!("{v}+{m}");
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes_match_the_go_structs() {
        let s = Status {
            hash: 1,
            revision: 2,
            total_key: 3,
            total_size: 4,
            version: String::new(),
        };
        assert_eq!(
            s.to_json(Compat::V35),
            r#"{"hash":1,"revision":2,"totalKey":3,"totalSize":4}"#
        );
        assert_eq!(
            s.to_json(Compat::V36),
            r#"{"hash":1,"revision":2,"totalKey":3,"totalSize":4,"version":""}"#
        );
    }

    #[test]
    fn crc32c_is_castagnoli_and_appends() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(
            crc32c::crc32c_append(crc32c::crc32c(b"1234"), b"56789"),
            0xE306_9283
        );
    }

    #[test]
    fn semver_like_go_semver() {
        assert_eq!(semver(b"3.6.0").as_deref(), Some("3.6.0"));
        assert_eq!(semver(b"3.6.0-alpha.1").as_deref(), Some("3.6.0-alpha.1"));
        assert_eq!(semver(b"3.6"), None);
        assert_eq!(semver(b"x.y.z"), None);
    }
}
