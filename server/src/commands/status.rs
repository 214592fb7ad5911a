//! `etcd-lens status FILE [--json] [--compat 3.4|3.5|3.6]`.

use std::process::ExitCode;

use etcd_lens_core::bolt::Db;
use etcd_lens_core::status::{self, Compat};

use super::input;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Snapshot or member db file, or `-` for standard input.
    pub file: std::path::PathBuf,
    /// Print exactly what `etcdctl/etcdutl snapshot status -w json` prints.
    #[arg(long)]
    pub json: bool,
    /// Which etcd tool to match: 3.4 and 3.5 count every bucket entry; 3.6 counts live keys and adds "version".
    #[arg(long, default_value = "3.5", value_parser = ["3.4", "3.5", "3.6"])]
    pub compat: String,
}

pub fn run(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let compat = if args.compat == "3.6" {
        Compat::V36
    } else {
        Compat::V35
    };
    let src = input::open(&args.file)?;
    let db = Db::open(&src)?;
    let st = status::status(&db, compat);
    src.finish();
    let st = st?;
    if args.json {
        super::out(&st.to_json(compat))?;
    } else {
        super::out(&format!("hash:       {:08x}", st.hash))?;
        super::out(&format!("revision:   {}", st.revision))?;
        super::out(&format!("total keys: {}", st.total_key))?;
        super::out(&format!("total size: {}", st.total_size))?;
        if compat == Compat::V36 {
            super::out(&format!("version:    {}", st.version))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
