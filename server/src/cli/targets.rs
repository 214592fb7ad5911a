//! Which clusters a command talks to: `--config FILE` (`[[cluster]]`
//! tables) or the quick start `--endpoints URL[,URL…]` (one cluster named
//! `default`), shared by `serve`, `cluster status` and `snapshot save`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use etcd_lens_core::age::Recipient;

use crate::config::clusters::{self, check_endpoints};
use crate::config::{ClusterConfig, CoordinationConfig};

#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Cluster configuration file (TOML, `[[cluster]]` tables; see etcd-lens.example.toml).
    #[arg(long, env = "ETCD_LENS_CONFIG", conflicts_with = "endpoints")]
    pub config: Option<PathBuf>,
    /// Quick start without a file: one cluster named `default` at these client URLs.
    #[arg(long, value_delimiter = ',')]
    pub endpoints: Vec<String>,
    /// With --endpoints: an age recipient for its snapshots (`age1…` or an SSH public key); repeatable.
    #[arg(long = "recipient", requires = "endpoints")]
    pub recipients: Vec<String>,
}

/// The clusters a command works on and the server's `[coordination]`.
pub type Targets = (Vec<Arc<ClusterConfig>>, Option<Arc<CoordinationConfig>>);

impl TargetArgs {
    /// Every configured cluster (none when neither flag is given).
    pub fn load(&self) -> anyhow::Result<Vec<Arc<ClusterConfig>>> {
        self.load_settings().map(|(all, _)| all)
    }

    /// Every configured cluster and the file's `[coordination]` (the
    /// server's; `--endpoints` has none).
    pub fn load_settings(&self) -> anyhow::Result<Targets> {
        if let Some(path) = &self.config {
            let s = clusters::load_settings(path)?;
            return Ok((
                s.clusters.into_iter().map(Arc::new).collect(),
                s.coordination,
            ));
        }
        if self.endpoints.is_empty() {
            return Ok((Vec::new(), None));
        }
        check_endpoints(&self.endpoints).map_err(|e| anyhow::anyhow!("--endpoints: {e}"))?;
        if self.endpoints.iter().any(|e| e.starts_with("https://")) {
            bail!(
                "--endpoints: https needs certificates; describe the cluster in a --config file (ca, cert, key)"
            );
        }
        let recipients = self
            .recipients
            .iter()
            .enumerate()
            .map(|(i, r)| Recipient::parse(r).with_context(|| format!("--recipient #{}", i + 1)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((
            vec![Arc::new(ClusterConfig::from_endpoints(
                self.endpoints.clone(),
                recipients,
            ))],
            None,
        ))
    }

    /// The one cluster a command is about: `--cluster NAME`, or the only one.
    pub fn one(&self, name: Option<&str>) -> anyhow::Result<Arc<ClusterConfig>> {
        let all = self.load()?;
        if all.is_empty() {
            bail!("no cluster: pass --endpoints URL[,URL…] or --config FILE");
        }
        match name {
            Some(n) => all
                .into_iter()
                .find(|c| c.name == n)
                .with_context(|| format!("no cluster named {n:?} in the configuration")),
            None if all.len() == 1 => Ok(all.into_iter().next().expect("one")),
            None => bail!(
                "the configuration has {} clusters: say which with --cluster ({})",
                all.len(),
                all.iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}
