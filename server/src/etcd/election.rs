//! Who applies retention when several servers share a bucket: etcd's own
//! lease-based election (the `v3election` service through `etcd-client`:
//! campaign, observe, resign by revoking the lease) on the coordination etcd
//! of `[coordination]`.
//!
//! A session: connect, grant a lease of `lease_ttl`, keep it alive every
//! third of the TTL, campaign with this server's id as the value, and observe
//! the election to know the current leader's id. Any failure ends the
//! session: the server stops acting as leader at once, and campaigns again
//! with a new lease after a backoff (0.5 s doubling to 10 s, with jitter).
//!
//! Invariants:
//! - Never leader past the lease: each successful keep-alive moves a local
//!   deadline to the time the request was *sent* plus the TTL, and
//!   [`Leadership::view`] reports no leadership once `now` passes it, even
//!   before the session notices the failure. etcd keeps the lease at least
//!   that long, so no other server can have won meanwhile (clock rates
//!   aside). A keep-alive unanswered within a third of the TTL ends the
//!   session, so a healthy leader never reaches the deadline.
//! - Without `[coordination]` the server is alone ([`Leadership::alone`]):
//!   role `none`, and it may apply retention, as a single server always did.
//! - Nothing here panics on a lost connection; errors become the view's
//!   `error` and a log line.
//!
//! What this does not do: decide anything about snapshots (slots are claimed
//! in the store, `ship::claim`), or read the wall clock for decisions (the
//! caller passes the `Instant` it asks about).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_client::Client;
use serde::Serialize;

use super::connect::{describe, options_for};
use crate::config::CoordinationConfig;

const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// This server's part in the election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Leader,
    Follower,
    /// Not in an election: no `[coordination]`, or the coordination etcd
    /// cannot be reached (then `error` says why).
    None,
}

/// What the API and the metrics show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleView {
    pub role: Role,
    /// `[coordination]` is configured.
    pub coordinated: bool,
    pub server_id: String,
    /// The current leader's id, when known (this server's own when leader).
    pub leader_id: Option<String>,
    pub election: Option<String>,
    /// Why this server is in no election right now.
    pub error: Option<String>,
}

struct Inner {
    view: RoleView,
    /// Leader only before this (the lease is surely alive until then).
    leader_until: Option<Instant>,
    /// The session's client and lease, to revoke at shutdown.
    session: Option<(Client, i64)>,
    stopped: bool,
}

/// This server's role, shared by the scheduler, retention and the API.
pub struct Leadership {
    inner: Mutex<Inner>,
}

impl Leadership {
    /// A server without `[coordination]`.
    pub fn alone(server_id: &str) -> Self {
        Self::with(server_id, None)
    }

    /// A server that will campaign on `election` (see [`run`]).
    pub fn coordinated(server_id: &str, election: &str) -> Self {
        Self::with(server_id, Some(election))
    }

    fn with(server_id: &str, election: Option<&str>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                view: RoleView {
                    role: Role::None,
                    coordinated: election.is_some(),
                    server_id: server_id.to_string(),
                    leader_id: None,
                    election: election.map(str::to_string),
                    error: election.map(|_| "not connected to the coordination etcd yet".into()),
                },
                leader_until: None,
                session: None,
                stopped: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state stays consistent field by field: ignore poisoning.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The role at `now`: a leader whose lease could not be renewed in time
    /// is reported as `none` (and acts so) before its session notices.
    pub fn view(&self, now: Instant) -> RoleView {
        let inner = self.lock();
        let mut v = inner.view.clone();
        if v.role == Role::Leader && inner.leader_until.is_none_or(|u| now >= u) {
            v.role = Role::None;
            v.leader_id = None;
            v.error = Some("the lease could not be renewed within its TTL".into());
        }
        v
    }

    pub fn server_id(&self) -> String {
        self.lock().view.server_id.clone()
    }

    /// Whether this server applies retention at `now`: alone, or the
    /// leader. `Err` says why not (for the log and the schedule's state).
    pub fn may_apply_retention(&self, now: Instant) -> Result<(), String> {
        let v = self.view(now);
        match (v.coordinated, v.role) {
            (false, _) | (true, Role::Leader) => Ok(()),
            (true, Role::Follower) => Err(format!(
                "this server ({}) is a follower; the leader ({}) applies retention",
                v.server_id,
                v.leader_id.as_deref().unwrap_or("not known yet")
            )),
            (true, Role::None) => Err(format!(
                "this server ({}) is not in the election ({}): only the leader applies retention",
                v.server_id,
                v.error.as_deref().unwrap_or("not connected")
            )),
        }
    }

    fn update(&self, f: impl FnOnce(&mut Inner)) {
        f(&mut self.lock());
    }

    /// Leave the election at shutdown: revoke the lease, so another server
    /// takes over at once instead of after the TTL.
    pub async fn step_down(&self, timeout: Duration) {
        let session = {
            let mut inner = self.lock();
            inner.stopped = true;
            inner.view.role = Role::None;
            inner.view.leader_id = None;
            inner.view.error = Some("shutting down".into());
            inner.leader_until = None;
            inner.session.take()
        };
        if let Some((mut client, lease)) = session {
            match tokio::time::timeout(timeout, client.lease_revoke(lease)).await {
                Ok(Ok(_)) => tracing::info!("coordination: left the election (lease revoked)"),
                Ok(Err(e)) => tracing::warn!(
                    "coordination: revoking the lease at shutdown failed (it expires by itself): {}",
                    describe(&e)
                ),
                Err(_) => tracing::warn!(
                    "coordination: revoking the lease at shutdown timed out (it expires by itself)"
                ),
            }
        }
    }
}

/// Campaign until the task is dropped or [`Leadership::step_down`] is called:
/// one session after another, with backoff between failures.
pub async fn run(cfg: Arc<CoordinationConfig>, me: Arc<Leadership>) {
    let mut backoff = INITIAL_BACKOFF;
    loop {
        if me.lock().stopped {
            return;
        }
        let started = Instant::now();
        let why = session(&cfg, &me).await;
        let was_leader = me.lock().view.role == Role::Leader;
        me.update(|i| {
            if i.stopped {
                return;
            }
            i.view.role = Role::None;
            i.view.leader_id = None;
            i.view.error = Some(why.clone());
            i.leader_until = None;
        });
        let session = me.lock().session.take();
        if let Some((mut client, lease)) = session {
            // Best effort: when etcd still answers, the others need not wait
            // for the TTL.
            let _ = tokio::time::timeout(cfg.timeout, client.lease_revoke(lease)).await;
        }
        if me.lock().stopped {
            return;
        }
        if started.elapsed() > 2 * cfg.lease_ttl {
            backoff = INITIAL_BACKOFF; // it had worked for a while
        }
        let wait = backoff + jitter(backoff / 4);
        tracing::warn!(
            "coordination: {}{why}; campaigning again in {} ms",
            if was_leader {
                "NO LONGER LEADER (retention stops here): "
            } else {
                ""
            },
            wait.as_millis()
        );
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Up to `max`, from the clock's nanoseconds: servers that lost the
/// coordination etcd together do not all come back in the same instant.
fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let max_ms = max.as_millis().max(1) as u64;
    Duration::from_millis(u64::from(nanos) % max_ms)
}

/// One session; returns why it ended.
async fn session(cfg: &CoordinationConfig, me: &Leadership) -> String {
    let (id, name) = {
        let i = me.lock();
        (
            i.view.server_id.clone(),
            i.view.election.clone().unwrap_or_default(),
        )
    };
    let endpoints = cfg.endpoints.join(",");
    let opts = options_for(
        cfg.tls.as_ref(),
        cfg.credentials.as_ref(),
        cfg.timeout,
        None,
    );
    let mut client = match tokio::time::timeout(
        cfg.timeout,
        Client::connect(&cfg.endpoints, Some(opts)),
    )
    .await
    {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return format!("connecting to {endpoints}: {}", describe(&e)),
        Err(_) => {
            return format!(
                "connecting to {endpoints}: no answer within {} ms",
                cfg.timeout.as_millis()
            );
        }
    };
    let ttl = cfg.lease_ttl;
    let ttl_seconds = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let sent = Instant::now();
    let lease = match tokio::time::timeout(cfg.timeout, client.lease_grant(ttl_seconds, None)).await
    {
        Ok(Ok(l)) => l.id(),
        Ok(Err(e)) => return format!("granting a lease on {endpoints}: {}", describe(&e)),
        Err(_) => return format!("granting a lease on {endpoints}: no answer in time"),
    };
    let (mut keeper, mut stream) =
        match tokio::time::timeout(cfg.timeout, client.lease_keep_alive(lease)).await {
            Ok(Ok(k)) => k,
            Ok(Err(e)) => return format!("keeping the lease alive: {}", describe(&e)),
            Err(_) => return "keeping the lease alive: no answer in time".into(),
        };
    me.update(|i| {
        i.session = Some((client.clone(), lease));
        i.view.role = Role::Follower;
        i.view.error = None;
        // Not leader yet; the deadline applies once it is.
        i.leader_until = Some(sent + ttl);
    });
    tracing::info!(
        "coordination: campaigning on {name:?} at {endpoints} as {id:?} (lease {lease:x}, TTL {} s)",
        ttl.as_secs()
    );

    let keep = async {
        let every = ttl / 3;
        loop {
            tokio::time::sleep(every).await;
            let sent = Instant::now();
            let answer = tokio::time::timeout(every, async {
                keeper.keep_alive().await?;
                stream.message().await
            })
            .await;
            match answer {
                Ok(Ok(Some(r))) if r.ttl() > 0 => me.update(|i| i.leader_until = Some(sent + ttl)),
                Ok(Ok(Some(_))) => return "the coordination etcd let the lease expire".to_string(),
                Ok(Ok(None)) => return "the lease's keep-alive stream closed".to_string(),
                Ok(Err(e)) => return format!("keeping the lease alive: {}", describe(&e)),
                Err(_) => {
                    return format!(
                        "keeping the lease alive: no answer within {} ms",
                        every.as_millis()
                    );
                }
            }
        }
    };
    let mut campaigner = client.election_client();
    let campaign = async {
        match campaigner.campaign(name.clone(), id.clone(), lease).await {
            Ok(_) => {
                me.update(|i| {
                    i.view.role = Role::Leader;
                    i.view.leader_id = Some(id.clone());
                });
                tracing::info!(
                    "coordination: this server ({id}) is the LEADER: it applies retention"
                );
                std::future::pending::<String>().await
            }
            Err(e) => format!("campaigning: {}", describe(&e)),
        }
    };
    let mut observer = client.election_client();
    let observe = async {
        let mut s = match observer.observe(name.clone()).await {
            Ok(s) => s,
            Err(e) => return format!("observing the election: {}", describe(&e)),
        };
        let mut last: Option<String> = None;
        loop {
            match s.message().await {
                Ok(Some(r)) => {
                    let leader = r
                        .kv()
                        .map(|kv| String::from_utf8_lossy(kv.value()).into_owned());
                    if leader != last {
                        if let Some(l) = leader.as_deref().filter(|l| *l != id) {
                            tracing::info!(
                                "coordination: follower; the leader is {l} (it applies retention)"
                            );
                        }
                        me.update(|i| {
                            if i.view.role != Role::Leader {
                                i.view.leader_id = leader.clone();
                            }
                        });
                        last = leader;
                    }
                }
                Ok(None) => return "the election's observe stream closed".to_string(),
                Err(e) => return format!("observing the election: {}", describe(&e)),
            }
        }
    };
    tokio::select! {
        why = keep => why,
        why = campaign => why,
        why = observe => why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alone_applies_retention_and_a_lapsed_leader_does_not() {
        let now = Instant::now();
        let alone = Leadership::alone("a:1");
        assert_eq!(alone.view(now).role, Role::None);
        assert!(alone.may_apply_retention(now).is_ok());

        let me = Leadership::coordinated("a:1", "etcd-lens/retention");
        let why = me.may_apply_retention(now).unwrap_err();
        assert!(why.contains("not in the election"), "{why}");
        me.update(|i| {
            i.view.role = Role::Follower;
            i.view.error = None;
            i.view.leader_id = Some("b:2".into());
        });
        let why = me.may_apply_retention(now).unwrap_err();
        assert!(why.contains("follower") && why.contains("b:2"), "{why}");
        me.update(|i| {
            i.view.role = Role::Leader;
            i.view.leader_id = Some("a:1".into());
            i.leader_until = Some(now + Duration::from_secs(10));
        });
        assert!(me.may_apply_retention(now).is_ok());
        assert_eq!(me.view(now).role, Role::Leader);
        // Past the lease's deadline it is no leader, whatever the session thinks.
        let later = now + Duration::from_secs(10);
        assert_eq!(me.view(later).role, Role::None);
        assert!(me.may_apply_retention(later).is_err());
    }
}
