//! zstd (RFC 8878): every frame of a stream, skippable frames skipped,
//! content checksums verified. talos-backup writes zstd, then age.

use std::io::{self, BufRead, BufReader, Read};

use super::error::ContainerError;
use super::stream::{Limited, READ_BYTES, io_error, pump};
use crate::source::Cursor;
use crate::source::ReadAt;

/// Every frame of a zstd stream, skippable frames skipped, checksums verified.
pub(super) fn decompress(src: &dyn ReadAt, out: &mut Limited<'_>) -> Result<(), ContainerError> {
    use ruzstd::decoding::StreamingDecoder;
    use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
    const CODEC: &str = "zstd";
    let mut input = Cursor::range(src, 0, src.len());
    let mut rd = BufReader::with_capacity(READ_BYTES, &mut input);
    let mut frames = 0u64;
    loop {
        if rd.fill_buf().map_err(|e| io_error(&e, CODEC))?.is_empty() {
            if frames == 0 {
                return Err(ContainerError::Corrupt {
                    codec: CODEC,
                    read_bytes: 0,
                    reason: "no frame".into(),
                });
            }
            return Ok(());
        }
        let at = rd.get_ref().offset() - rd.buffer().len() as u64;
        let corrupt = |reason: String| ContainerError::Corrupt {
            codec: CODEC,
            read_bytes: at,
            reason,
        };
        match StreamingDecoder::new(&mut rd) {
            Ok(mut dec) => {
                pump(&mut dec, out, CODEC).map_err(|e| match e {
                    ContainerError::Corrupt { reason, .. } => corrupt(reason),
                    e => e,
                })?;
                let fd = &dec.decoder;
                if let (Some(want), Some(got)) =
                    (fd.get_checksum_from_data(), fd.get_calculated_checksum())
                    && want != got
                {
                    return Err(corrupt(format!(
                        "frame checksum is {got:08x}, the frame says {want:08x}"
                    )));
                }
                frames += 1;
            }
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                length,
                ..
            })) => {
                let skipped = io::copy(&mut (&mut rd).take(u64::from(length)), &mut io::sink())
                    .map_err(|e| io_error(&e, CODEC))?;
                if skipped < u64::from(length) {
                    return Err(corrupt("a skippable frame is cut short".into()));
                }
            }
            Err(e) => return Err(corrupt(e.to_string())),
        }
    }
}
