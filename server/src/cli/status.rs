//! `etcd-lens status FILE [--json] [--compat 3.4|3.5|3.6]`: the file's own
//! convention unless `--compat` chooses one (the core decides which: [`Compat::of_file`]).

use std::process::ExitCode;

use etcd_lens_core::ReadAt;
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
    /// Which etcd tool to match: 3.4 and 3.5 count every bucket entry; 3.6
    /// (and 3.7) count live keys and add "version". Default: the file's own,
    /// 3.6 when its meta bucket has a storageVersion (etcd 3.6+ wrote it), else 3.5.
    #[arg(long, value_enum)]
    pub compat: Option<CompatArg>,
}

/// `--compat`: the etcd release whose `snapshot status` to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompatArg {
    #[value(name = "3.4")]
    V34,
    #[value(name = "3.5")]
    V35,
    #[value(name = "3.6")]
    V36,
}

impl From<CompatArg> for Compat {
    fn from(c: CompatArg) -> Self {
        match c {
            // etcdctl 3.4 and etcdutl 3.5 print the same numbers.
            CompatArg::V34 | CompatArg::V35 => Compat::V35,
            CompatArg::V36 => Compat::V36,
        }
    }
}

pub fn run(args: &StatusArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let src = input::open(&args.file, unwrap)?;
    // A plain file is read by several threads at once (the `key` bucket in
    // parts, which the core combines exactly); a layered input by one.
    let (st, compat, why) = match src.plain_file() {
        Some(file) => {
            let db = Db::open(file)?;
            let (compat, why) = convention(&db, args.compat)?;
            let st = status::parallel::status_threads(&db, compat, threads())?;
            (st, compat, why)
        }
        None => {
            let db = Db::open(&src)?;
            let (compat, why) = convention(&db, args.compat)?;
            (status::status(&db, compat)?, compat, why)
        }
    };
    src.finish();
    if args.json {
        super::output::out(&st.to_json(compat))?;
    } else {
        super::output::out(&format!("hash:       {:08x}", st.hash))?;
        super::output::out(&format!("revision:   {}", st.revision))?;
        super::output::out(&format!("total keys: {}", st.total_key))?;
        super::output::out(&format!("total size: {}", st.total_size))?;
        if compat == Compat::V36 {
            super::output::out(&format!("version:    {}", st.version))?;
        }
        super::output::out(&format!("numbers of: {} ({why})", compat.tool()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One thread per core.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The chosen convention or the file's own, and why that one.
fn convention(
    db: &Db<impl ReadAt>,
    chosen: Option<CompatArg>,
) -> anyhow::Result<(Compat, &'static str)> {
    Ok(match chosen {
        Some(c) => (Compat::from(c), "chosen with --compat"),
        None => match Compat::of_file(db)? {
            Compat::V36 => (
                Compat::V36,
                "the file has a storage version: etcd 3.6+ wrote it",
            ),
            Compat::V35 => (
                Compat::V35,
                "no storage version: etcd 3.4 or 3.5 wrote the file",
            ),
        },
    })
}
