//! The etcd data model of a snapshot (or a member's `db` file).
//!
//! [`Snapshot::open`] reads the small buckets (`meta`, `cluster`, `members`,
//! `members_removed`, `lease`, `auth`, `authUsers`, `authRoles`, `alarm`) into
//! [`SnapshotInfo`]; the `key` bucket, which holds the data and can be
//! gigabytes, is scanned only by [`Snapshot::key_index`], which keeps revisions
//! and metadata, never values. Values are read back by revision on demand.
//!
//! Not fatal: unknown buckets (listed), a missing bucket (empty), a small-bucket
//! value that does not decode (a warning in `info.warnings`). Password hashes
//! of `authUsers` never leave this module unmasked.

use std::ops::ControlFlow;

use prost::Message;
use serde::Serialize;

use crate::bolt::{BoltError, Bucket, Db, Loc};
use crate::mvcc::proto::{AlarmMember, Lease, Role, User};
use crate::mvcc::revision::{Revision, RevisionError, RevisionKey};
use crate::mvcc::{IndexBuilder, KeyIndex, KeyValue};
use crate::source::ReadAt;

/// Every bucket etcd 3.4–3.6 writes.
pub const KNOWN_BUCKETS: [&str; 10] = [
    "key",
    "meta",
    "lease",
    "alarm",
    "cluster",
    "members",
    "members_removed",
    "auth",
    "authUsers",
    "authRoles",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SnapshotError {
    #[error(transparent)]
    Bolt(#[from] BoltError),
    #[error("page {}, offset {}: `key`-bucket key {key_hex}: {error}", at.page, at.offset)]
    RevisionKey {
        at: Loc,
        key_hex: String,
        error: RevisionError,
    },
    #[error("page {}, offset {}: the value of revision {key_hex} is not an mvccpb.KeyValue: {reason}", at.page, at.offset)]
    KeyValue {
        at: Loc,
        key_hex: String,
        reason: String,
    },
    #[error("revision {rev} has been compacted (compacted up to {compacted})")]
    Compacted { rev: i64, compacted: i64 },
    #[error("revision {rev} is a future revision (the current revision is {current})")]
    FutureRevision { rev: i64, current: i64 },
}

/// A top-level bucket.
#[derive(Debug, Clone, Serialize)]
pub struct BucketName {
    /// Lossy UTF-8.
    pub name: String,
    pub known: bool,
}

/// Values of the `meta` bucket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EtcdMeta {
    pub consistent_index: Option<u64>,
    pub term: Option<u64>,
    /// `confState`: raftpb.ConfState as JSON (etcd 3.5+).
    pub conf_state: Option<serde_json::Value>,
    /// `storageVersion` (etcd 3.6+).
    pub storage_version: Option<String>,
    pub scheduled_compact_rev: Option<i64>,
    pub finished_compact_rev: Option<i64>,
}

/// A member from `members` (its JSON as etcd wrote it).
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// The key: the member id in hex.
    pub id: String,
    pub name: Option<String>,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
    pub raw: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaseInfo {
    pub id: i64,
    pub ttl: i64,
    pub remaining_ttl: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub name: String,
    pub roles: Vec<String>,
    pub has_password: bool,
    /// The hash's scheme and cost (e.g. `$2a$10$…`), the rest masked.
    pub password_masked: Option<String>,
    pub no_password: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PermissionInfo {
    /// `read`, `write`, `readwrite`, or the number.
    pub perm_type: String,
    pub key: String,
    pub range_end: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleInfo {
    pub name: String,
    pub permissions: Vec<PermissionInfo>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AuthInfo {
    pub enabled: Option<bool>,
    pub revision: Option<u64>,
    pub users: Vec<UserInfo>,
    pub roles: Vec<RoleInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlarmInfo {
    pub member_id: u64,
    /// `nospace`, `corrupt`, `none`, or the number.
    pub alarm: String,
}

/// Everything but the `key` bucket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SnapshotInfo {
    pub buckets: Vec<BucketName>,
    pub meta: EtcdMeta,
    pub cluster_version: Option<String>,
    pub downgrade: Option<serde_json::Value>,
    pub members: Vec<Member>,
    pub removed_members: Vec<String>,
    pub leases: Vec<LeaseInfo>,
    pub auth: AuthInfo,
    pub alarms: Vec<AlarmInfo>,
    pub warnings: Vec<String>,
}

/// One retained revision of a key.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub rev: Revision,
    pub deleted: bool,
    /// As stored: for a tombstone, only `key` is set.
    pub kv: KeyValue,
}

/// What [`Snapshot::before_delete`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum BeforeDelete {
    /// The version written last before the tombstone at `deleted_at`.
    Found { deleted_at: i64, kv: KeyValue },
    /// The key has no retained revision at all.
    NoKey,
    /// No tombstone is retained for the key.
    NeverDeleted,
    /// The tombstone is retained, the versions before it are not.
    Compacted { deleted_at: i64, compacted: i64 },
}

/// A key and its value (`None` for a nested bucket) of a small bucket.
type SmallEntry = (Vec<u8>, Option<Vec<u8>>);

/// An open snapshot.
pub struct Snapshot<S> {
    db: Db<S>,
    key_bucket: Option<Bucket>,
    pub info: SnapshotInfo,
}

fn be_u64(v: &[u8]) -> Option<u64> {
    let b: [u8; 8] = v.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Everything up to and including the cost of a modular-crypt hash (`$2a$10$`), then `…`.
fn mask_password(p: &[u8]) -> String {
    let s = String::from_utf8_lossy(p);
    let mut dollars = 0;
    let mut keep = 0;
    for (i, c) in s.char_indices() {
        if c == '$' {
            dollars += 1;
            if dollars == 3 {
                keep = i + 1;
                break;
            }
        }
    }
    format!("{}…", &s[..keep])
}

impl<S: ReadAt> Snapshot<S> {
    /// Open a snapshot: the bbolt metas and every small bucket.
    pub fn open(src: S) -> Result<Self, SnapshotError> {
        Self::from_db(Db::open(src)?)
    }

    pub fn from_db(db: Db<S>) -> Result<Self, SnapshotError> {
        let root = db.root();
        let mut info = SnapshotInfo::default();
        for name in db.bucket_names()? {
            let n = text(&name);
            info.buckets.push(BucketName {
                known: KNOWN_BUCKETS.contains(&n.as_str()),
                name: n,
            });
        }
        let key_bucket = db.bucket(&root, b"key")?;
        let mut me = Self {
            db,
            key_bucket,
            info: SnapshotInfo::default(),
        };
        me.read_small(&mut info)?;
        me.info = info;
        Ok(me)
    }

    pub fn db(&self) -> &Db<S> {
        &self.db
    }

    /// All entries of a top-level bucket (for the small ones).
    fn entries(&self, name: &str) -> Result<Vec<SmallEntry>, SnapshotError> {
        let Some(b) = self.db.bucket(&self.db.root(), name.as_bytes())? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        self.db.for_each(&b, None, |e| {
            out.push((e.key.to_vec(), e.value.map(<[u8]>::to_vec)));
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    fn read_small(&self, info: &mut SnapshotInfo) -> Result<(), SnapshotError> {
        let w = &mut info.warnings;
        for (k, v) in self.entries("meta")? {
            let v = v.unwrap_or_default();
            let m = &mut info.meta;
            match k.as_slice() {
                b"consistent_index" => m.consistent_index = be_u64(&v),
                b"term" => m.term = be_u64(&v),
                b"confState" => m.conf_state = serde_json::from_slice(&v).ok(),
                b"storageVersion" => m.storage_version = Some(text(&v)),
                b"scheduledCompactRev" | b"finishedCompactRev" => {
                    let Ok(rev) = Revision::parse(&v) else {
                        w.push(format!(
                            "meta/{}: {} bytes, not a revision",
                            text(&k),
                            v.len()
                        ));
                        continue;
                    };
                    if k == b"scheduledCompactRev" {
                        m.scheduled_compact_rev = Some(rev.main);
                    } else {
                        m.finished_compact_rev = Some(rev.main);
                    }
                }
                _ => w.push(format!("meta: unknown key {:?}", text(&k))),
            }
        }
        for (k, v) in self.entries("cluster")? {
            let v = v.unwrap_or_default();
            match k.as_slice() {
                b"clusterVersion" => info.cluster_version = Some(text(&v)),
                b"downgrade" => info.downgrade = serde_json::from_slice(&v).ok(),
                _ => w.push(format!("cluster: unknown key {:?}", text(&k))),
            }
        }
        for (k, v) in self.entries("members")? {
            let raw: serde_json::Value = match serde_json::from_slice(&v.unwrap_or_default()) {
                Ok(j) => j,
                Err(e) => {
                    w.push(format!("members/{}: not JSON: {e}", text(&k)));
                    continue;
                }
            };
            let strings = |f: &str| -> Vec<String> {
                raw.get(f)
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            info.members.push(Member {
                id: text(&k),
                name: raw.get("name").and_then(|n| n.as_str()).map(String::from),
                peer_urls: strings("peerURLs"),
                client_urls: strings("clientURLs"),
                is_learner: raw
                    .get("isLearner")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false),
                raw: raw.clone(),
            });
        }
        info.removed_members = self
            .entries("members_removed")?
            .into_iter()
            .map(|(k, _)| text(&k))
            .collect();
        for (k, v) in self.entries("lease")? {
            match Lease::decode(v.unwrap_or_default().as_slice()) {
                Ok(l) => info.leases.push(LeaseInfo {
                    id: l.id,
                    ttl: l.ttl,
                    remaining_ttl: l.remaining_ttl,
                }),
                Err(e) => w.push(format!(
                    "lease/{}: not a leasepb.Lease: {e}",
                    hex::encode(&k)
                )),
            }
        }
        for (k, v) in self.entries("auth")? {
            let v = v.unwrap_or_default();
            match k.as_slice() {
                b"authEnabled" => info.auth.enabled = v.first().map(|b| *b == 1),
                b"authRevision" => info.auth.revision = be_u64(&v),
                _ => w.push(format!("auth: unknown key {:?}", text(&k))),
            }
        }
        for (k, v) in self.entries("authUsers")? {
            match User::decode(v.unwrap_or_default().as_slice()) {
                Ok(u) => info.auth.users.push(UserInfo {
                    name: text(&u.name),
                    roles: u.roles,
                    has_password: !u.password.is_empty(),
                    password_masked: (!u.password.is_empty()).then(|| mask_password(&u.password)),
                    no_password: u.options.is_some_and(|o| o.no_password),
                }),
                Err(e) => w.push(format!("authUsers/{}: not an authpb.User: {e}", text(&k))),
            }
        }
        for (k, v) in self.entries("authRoles")? {
            match Role::decode(v.unwrap_or_default().as_slice()) {
                Ok(r) => info.auth.roles.push(RoleInfo {
                    name: text(&r.name),
                    permissions: r
                        .key_permission
                        .into_iter()
                        .map(|p| PermissionInfo {
                            perm_type: match p.perm_type {
                                0 => "read".into(),
                                1 => "write".into(),
                                2 => "readwrite".into(),
                                n => n.to_string(),
                            },
                            key: text(&p.key),
                            range_end: text(&p.range_end),
                        })
                        .collect(),
                }),
                Err(e) => w.push(format!("authRoles/{}: not an authpb.Role: {e}", text(&k))),
            }
        }
        for (k, _) in self.entries("alarm")? {
            match AlarmMember::decode(k.as_slice()) {
                Ok(a) => info.alarms.push(AlarmInfo {
                    member_id: a.member_id,
                    alarm: match a.alarm {
                        0 => "none".into(),
                        1 => "nospace".into(),
                        2 => "corrupt".into(),
                        n => n.to_string(),
                    },
                }),
                Err(e) => w.push(format!(
                    "alarm/{}: not an AlarmMember: {e}",
                    hex::encode(&k)
                )),
            }
        }
        Ok(())
    }

    /// The revision below which history is gone (etcd's compactMainRev), 0 when never compacted.
    pub fn compacted_revision(&self) -> i64 {
        let m = &self.info.meta;
        m.finished_compact_rev
            .unwrap_or(0)
            .max(m.scheduled_compact_rev.unwrap_or(0))
    }

    /// Scan the `key` bucket into an index (one pass over its pages).
    pub fn key_index(&self) -> Result<KeyIndex, SnapshotError> {
        let mut ix = IndexBuilder::default();
        let Some(kb) = &self.key_bucket else {
            return Ok(ix.finish());
        };
        let mut failure = None;
        // One message decoded into for every entry: no allocation per revision.
        let mut kv = KeyValue::default();
        self.db.for_each(kb, None, |e| {
            let Some(v) = e.value else {
                return ControlFlow::Continue(());
            };
            let rk = match RevisionKey::parse(e.key) {
                Ok(rk) => rk,
                Err(error) => {
                    failure = Some(SnapshotError::RevisionKey {
                        at: e.loc,
                        key_hex: hex::encode(e.key),
                        error,
                    });
                    return ControlFlow::Break(());
                }
            };
            kv.clear();
            match kv.merge(v) {
                Ok(()) => ix.add(rk, &kv),
                Err(err) => {
                    failure = Some(SnapshotError::KeyValue {
                        at: e.loc,
                        key_hex: hex::encode(e.key),
                        reason: err.to_string(),
                    });
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })?;
        match failure {
            Some(f) => Err(f),
            None => Ok(ix.finish()),
        }
    }

    /// The `key`-bucket entry of one revision.
    pub fn value(&self, rk: RevisionKey) -> Result<Option<KeyValue>, SnapshotError> {
        let Some(kb) = &self.key_bucket else {
            return Ok(None);
        };
        let key = rk.encode();
        let Some(found) = self.db.get_raw(kb, &key)? else {
            return Ok(None);
        };
        KeyValue::decode(found.value.as_slice())
            .map(Some)
            .map_err(|e| SnapshotError::KeyValue {
                at: found.at,
                key_hex: hex::encode(&key),
                reason: e.to_string(),
            })
    }

    /// Every retained revision of `key`, oldest first, tombstones included.
    pub fn history(&self, ix: &KeyIndex, key: &[u8]) -> Result<Vec<HistoryEntry>, SnapshotError> {
        let Some(h) = ix.history(key) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(h.revisions.len());
        for rk in h.revisions {
            let kv = self.value(*rk)?.unwrap_or_default();
            out.push(HistoryEntry {
                rev: rk.rev,
                deleted: rk.tombstone,
                kv,
            });
        }
        Ok(out)
    }

    /// The last version of `key` before its latest deletion, for bringing a
    /// deleted object back (also when it was created again since).
    pub fn before_delete(&self, ix: &KeyIndex, key: &[u8]) -> Result<BeforeDelete, SnapshotError> {
        let Some(h) = ix.history(key) else {
            return Ok(BeforeDelete::NoKey);
        };
        let Some(t) = h.revisions.iter().rposition(|r| r.tombstone) else {
            return Ok(BeforeDelete::NeverDeleted);
        };
        let deleted_at = h.revisions[t].rev.main;
        let Some(prev) = t
            .checked_sub(1)
            .map(|i| h.revisions[i])
            .filter(|r| !r.tombstone)
        else {
            return Ok(BeforeDelete::Compacted {
                deleted_at,
                compacted: self.compacted_revision(),
            });
        };
        match self.value(prev)? {
            Some(kv) => Ok(BeforeDelete::Found { deleted_at, kv }),
            None => Ok(BeforeDelete::Compacted {
                deleted_at,
                compacted: self.compacted_revision(),
            }),
        }
    }

    /// `key` as of revision `at` (latest when `None`), like `etcdctl get --rev`:
    /// `None` when it did not exist or was deleted then.
    pub fn get(
        &self,
        ix: &KeyIndex,
        key: &[u8],
        at: Option<i64>,
    ) -> Result<Option<KeyValue>, SnapshotError> {
        let current = ix.last.map_or(0, |l| l.rev.main);
        if let Some(rev) = at.filter(|r| *r > 0) {
            if rev > current {
                return Err(SnapshotError::FutureRevision { rev, current });
            }
            let compacted = self.compacted_revision();
            if rev < compacted {
                return Err(SnapshotError::Compacted { rev, compacted });
            }
        }
        let Some(h) = ix.history(key) else {
            return Ok(None);
        };
        let limit = at.filter(|r| *r > 0).unwrap_or(i64::MAX);
        let Some(rk) = h.revisions.iter().rev().find(|r| r.rev.main <= limit) else {
            return Ok(None);
        };
        if rk.tombstone {
            return Ok(None);
        }
        self.value(*rk)
    }
}
