//! Step 1: raw `FileReaderSync` throughput, a plain JS worker reading the
//! file in slices of every size, from a tiny page this program serves.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use etcd_lens_bench::drop_cache;

use crate::chromium::Browser;

pub(crate) const MIB: f64 = 1_048_576.0;

const READER_PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>FileReaderSync throughput</title>
<input type="file" id="f">
<script>
const w = new Worker("reader.js");
w.onmessage = (e) => { window.__result = e.data; };
window.readPass = (slice, limit) => {
  window.__result = null;
  w.postMessage({ file: document.getElementById("f").files[0], slice, limit });
};
</script>
"#;

const READER_WORKER: &str = r#"// Read the whole file in order, one Blob.slice at a time, as the app's worker does.
onmessage = (e) => {
  const { file, slice, limit } = e.data;
  const stop = Math.min(file.size, limit);
  const reader = new FileReaderSync();
  const t0 = performance.now();
  let off = 0, calls = 0, touch = 0;
  try {
    while (off < stop) {
      const end = Math.min(off + slice, stop);
      const ab = reader.readAsArrayBuffer(file.slice(off, end));
      if (ab.byteLength !== end - off) throw new Error(`short read at ${off}: ${ab.byteLength}`);
      touch ^= new Uint8Array(ab)[ab.byteLength - 1];
      off = end;
      calls++;
    }
    postMessage({ bytes: off, ms: performance.now() - t0, calls, touch });
  } catch (err) {
    postMessage({ error: String(err), bytes: off });
  }
};
"#;

/// Serve the two files above on a loopback port, forever (a thread).
fn serve_reader_page() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&req);
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let (status, ctype, body) = match path {
                "/" => ("200 OK", "text/html", READER_PAGE),
                "/reader.js" => ("200 OK", "text/javascript", READER_WORKER),
                _ => ("404 Not Found", "text/plain", "not found"),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// At most this many reads per pass: small slices read only the file's start.
pub(crate) const MAX_CALLS: u64 = 16384;

/// One pass over the file (or its first `MAX_CALLS` slices) at `slice` bytes: MiB/s.
async fn read_pass(b: &Browser, slice: u64) -> f64 {
    let limit = slice * MAX_CALLS;
    b.js(&format!("window.readPass({slice}, {limit}); return true;"))
        .await;
    let t0 = Instant::now();
    loop {
        let r = b.js("return window.__result;").await;
        if let Some(err) = r.get("error") {
            panic!("FileReaderSync pass at {slice} bytes failed: {err}");
        }
        if let (Some(bytes), Some(ms)) = (r["bytes"].as_f64(), r["ms"].as_f64()) {
            return bytes / MIB / (ms / 1000.0);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(1800),
            "FileReaderSync pass timed out"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) struct Throughput {
    pub(crate) slice: u64,
    pub(crate) warm: f64,
    pub(crate) cold: f64,
}

pub(crate) async fn throughput(
    b: &Browser,
    snap: &Path,
    slices: &[u64],
    passes: usize,
) -> Vec<Throughput> {
    let port = serve_reader_page();
    b.client
        .goto(&format!("http://127.0.0.1:{port}/"))
        .await
        .expect("the reader page");
    b.pick("#f", snap).await;
    b.wait_js(
        "the file",
        "return document.getElementById('f').files.length === 1;",
        Duration::from_secs(10),
    )
    .await;
    // Discarded: brings the file into the page cache and warms the worker up.
    read_pass(b, 4 << 20).await;
    let mut warm: HashMap<u64, Vec<f64>> = HashMap::new();
    let mut cold: HashMap<u64, Vec<f64>> = HashMap::new();
    for _ in 0..passes {
        for &s in slices {
            let v = read_pass(b, s).await;
            eprintln!("  FileReaderSync warm {:>6} KiB: {v:.0} MiB/s", s >> 10);
            warm.entry(s).or_default().push(v);
        }
    }
    for _ in 0..passes {
        for &s in slices {
            drop_cache(snap);
            let v = read_pass(b, s).await;
            eprintln!("  FileReaderSync cold {:>6} KiB: {v:.0} MiB/s", s >> 10);
            cold.entry(s).or_default().push(v);
        }
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    slices
        .iter()
        .map(|&s| Throughput {
            slice: s,
            warm: med(warm.remove(&s).unwrap()),
            cold: med(cold.remove(&s).unwrap()),
        })
        .collect()
}
