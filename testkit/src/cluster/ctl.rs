//! etcdctl against the cluster, as one of its identities: keys, leases,
//! compaction, status, snapshots and alarms, dialling only the members this
//! harness believes are running.

use std::path::Path;
use std::process::{Command, Output};

use super::etcdctl::{self, Etcdctl};
use super::{Cluster, Identity};

impl Cluster {
    fn etcdctl(&self, who: &Identity, endpoints: &[&str], command_timeout: &str) -> Etcdctl {
        let mut ctl = Etcdctl::new(&self.opts.binaries.etcdctl, endpoints, command_timeout);
        if let Some(t) = &self.tls {
            ctl = ctl.flag("cacert", &t.ca);
            if who.client_cert {
                ctl = ctl.flag("cert", &t.client_cert).flag("key", &t.client_key);
            }
        }
        if let Some(l) = &who.login {
            ctl = ctl.flag("user", format!("{}:{}", l.user, l.password));
        }
        ctl
    }

    /// etcdctl against the running members, as `who`.
    fn ctl_running(&self, who: &Identity, command_timeout: &str) -> Etcdctl {
        let eps = self.running_endpoints();
        assert!(!eps.is_empty(), "no member of the cluster is running");
        let eps: Vec<&str> = eps.iter().map(String::as_str).collect();
        self.etcdctl(who, &eps, command_timeout)
    }

    /// etcdctl against the running members with the cluster's TLS and root
    /// login; the raw output. Append `--command-timeout=1s` to fail faster.
    pub fn ctl_output(&self, args: &[&str]) -> Output {
        self.ctl_output_as(&self.root(), args)
    }

    pub fn ctl_output_as(&self, who: &Identity, args: &[&str]) -> Output {
        self.ctl_running(who, "10s").output(args)
    }

    /// Like [`Self::ctl_output`]; standard output, or a panic with standard error.
    pub fn ctl(&self, args: &[&str]) -> String {
        self.ctl_as(&self.root(), args)
    }

    pub fn ctl_as(&self, who: &Identity, args: &[&str]) -> String {
        etcdctl::checked(args, self.ctl_output_as(who, args))
    }

    /// etcdctl against member `i` only, as root.
    pub fn ctl_member(&self, i: usize, args: &[&str]) -> String {
        let ep = self.members[i].client_url.as_str();
        self.etcdctl(&self.root(), &[ep], "10s").run(args)
    }

    /// Run etcdctl (as root) with `input` on standard input; panics with
    /// standard error on failure.
    pub fn ctl_with_stdin(&self, args: &[&str], input: &[u8]) -> String {
        etcdctl::checked(args, self.ctl_output_with_stdin(args, input))
    }

    /// Like [`Self::ctl_with_stdin`], the raw output (for requests expected
    /// to fail, such as a put past the quota).
    pub fn ctl_output_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        self.ctl_running(&self.root(), "30s")
            .output_with_stdin(args, input)
    }

    pub fn put(&self, key: &str, value: &str) {
        self.ctl(&["put", key, value]);
    }

    /// `etcdctl put KEY` with a binary value on standard input (etcdctl reads
    /// all of it, unchanged, when no value argument is given).
    pub fn put_bytes(&self, key: &str, value: &[u8]) {
        self.ctl_with_stdin(&["put", key], value);
    }

    /// Many puts, 100 to a transaction (`etcdctl txn`; etcd allows 128 ops per txn).
    /// Keys and values must be single words (no spaces or newlines).
    pub fn put_many(&self, pairs: &[(String, String)]) {
        for batch in pairs.chunks(100) {
            let mut script = String::from("\n");
            for (k, v) in batch {
                assert!(
                    !k.contains(char::is_whitespace) && !v.contains(char::is_whitespace),
                    "put_many takes single words: {k:?} {v:?}"
                );
                script.push_str(&format!("put {k} {v}\n"));
            }
            script.push_str("\n\n");
            let out = self.ctl_with_stdin(&["txn"], script.as_bytes());
            assert!(out.starts_with("SUCCESS"), "etcdctl txn: {out}");
        }
    }

    /// `etcdctl del KEY`; the number of keys deleted.
    pub fn delete(&self, key: &str) -> u64 {
        self.ctl(&["del", key])
            .trim()
            .parse()
            .expect("etcdctl del prints a count")
    }

    /// Grant a lease of `ttl_secs`; its id in hex, as `put --lease` takes it.
    pub fn grant_lease(&self, ttl_secs: u64) -> String {
        // "lease 694d7f5c0b2ad10b granted with TTL(600s)"
        let out = self.ctl(&["lease", "grant", &ttl_secs.to_string()]);
        out.split_whitespace()
            .nth(1)
            .expect("etcdctl lease grant output")
            .to_string()
    }

    /// `etcdctl put --lease=ID KEY VALUE`.
    pub fn put_with_lease(&self, key: &str, value: &str, lease_hex: &str) {
        self.ctl(&["put", &format!("--lease={lease_hex}"), key, value]);
    }

    /// Compact the key history up to `rev` (physically, so a snapshot shows it).
    pub fn compact(&self, rev: i64) {
        self.ctl(&["compaction", "--physical", &rev.to_string()]);
    }

    /// The store's current revision (from the header of a linearizable get).
    pub fn revision(&self) -> i64 {
        let out = self.ctl(&["get", "revision-probe", "-w", "json"]);
        let v = parse_json("etcdctl get -w json", &out);
        v["header"]["revision"]
            .as_i64()
            .unwrap_or_else(|| panic!("no header.revision in {out}"))
    }

    /// `etcdctl endpoint status -w json` of the running members, parsed
    /// (an array of `{"Endpoint", "Status": {"header", "leader", "dbSize", …}}`).
    pub fn endpoint_status(&self) -> serde_json::Value {
        let out = self.ctl(&["endpoint", "status", "-w", "json"]);
        parse_json("etcdctl endpoint status -w json", &out)
    }

    /// The running member that says it is the leader, if any (a member without
    /// quorum answers Status with leader 0).
    pub fn leader_index(&self) -> Option<usize> {
        let status = self.endpoint_status();
        status.as_array()?.iter().find_map(|e| {
            let s = &e["Status"];
            let me = s["header"]["member_id"].as_u64()?;
            (me != 0 && s["leader"].as_u64() == Some(me))
                .then(|| {
                    let ep = e["Endpoint"].as_str()?;
                    self.members.iter().position(|m| m.client_url == ep)
                })
                .flatten()
        })
    }

    /// `etcdctl snapshot save PATH` from the first running member (a snapshot
    /// comes from one member).
    pub fn snapshot(&self, path: &Path) {
        let i = (0..self.members.len())
            .find(|&i| self.is_running(i))
            .expect("no member of the cluster is running");
        self.snapshot_from(i, path);
    }

    pub fn snapshot_from(&self, i: usize, path: &Path) {
        let ep = self.members[i].client_url.as_str();
        self.etcdctl(&self.root(), &[ep], "60s").run(&[
            "snapshot",
            "save",
            path.to_str().expect("utf-8 path"),
        ]);
    }

    /// `snapshot status -w json FILE` (etcdutl where the flavor has it), parsed.
    pub fn snapshot_status(&self, file: &Path) -> serde_json::Value {
        let file = file.to_str().expect("utf-8 path");
        let args = ["snapshot", "status", "-w", "json", file];
        let json = match &self.opts.binaries.etcdutl {
            Some(etcdutl) => {
                let out = Command::new(etcdutl)
                    .args(args)
                    .output()
                    .unwrap_or_else(|e| panic!("running {}: {e}", etcdutl.display()));
                etcdctl::checked(&args, out)
            }
            None => self.ctl(&args),
        };
        parse_json("snapshot status -w json", &json)
    }

    /// `etcdctl alarm list`: one `memberID:… alarm:NOSPACE` line per alarm.
    /// Goes through raft, so it needs quorum.
    pub fn alarm_list(&self) -> String {
        self.ctl(&["alarm", "list"])
    }
}

fn parse_json(what: &str, text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
}
