//! zstd decompression that never allocates more than a cap, whatever the frame says.
//!
//! Two paths: a frame that declares its content size is rejected up front when
//! the size is over the cap, otherwise decompressed in one shot into a buffer
//! of exactly that size (no window buffer needed). A frame that does not declare
//! its size is streamed with the window limited to the cap, and stops as soon as
//! the output passes the cap. A 1 GiB bomb therefore costs at most about
//! `2 x cap` of memory and the time to inflate `cap` bytes.

use zstd::zstd_safe::{self, DCtx, DParameter, InBuffer, OutBuffer, ResetDirective};

use super::error::DecodeError;
use super::format::ZSTD_MAGIC;

const STREAM_CHUNK: usize = 64 * 1024;

/// Smallest window log zstd accepts.
const MIN_WINDOW_LOG: u32 = 10;
/// Largest window log zstd accepts on 64-bit targets.
const MAX_WINDOW_LOG: u32 = 31;

/// Decompresses `body`, which must be exactly one zstd frame, into at most `cap` bytes.
pub(crate) fn decompress(dctx: &mut DCtx<'static>, body: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    if body.len() < ZSTD_MAGIC.len() || body[..4] != ZSTD_MAGIC {
        return Err(DecodeError::BadZstd("body does not start with the zstd magic 28 b5 2f fd".into()));
    }
    let frame_len = zstd_safe::find_frame_compressed_size(body)
        .map_err(|code| DecodeError::BadZstd(format!("corrupt or truncated frame: {}", zstd_safe::get_error_name(code))))?;
    if frame_len != body.len() {
        return Err(DecodeError::BadZstd(format!(
            "{} bytes follow the zstd frame: the body must be exactly one frame",
            body.len() - frame_len
        )));
    }
    let declared = zstd_safe::get_frame_content_size(body)
        .map_err(|_| DecodeError::BadZstd("corrupt frame header".into()))?;
    match declared {
        Some(size) if size > cap as u64 => {
            Err(DecodeError::TooLarge(format!("size cap: the zstd frame declares {size} bytes of content, over the cap of {cap} bytes")))
        }
        Some(size) => one_shot(dctx, body, size as usize),
        None => streamed(dctx, body, cap),
    }
}

/// One-shot decompression writes straight into the output, so no window buffer
/// is allocated and the streaming parameters (window limit) do not apply.
fn one_shot(dctx: &mut DCtx<'static>, body: &[u8], size: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(size);
    let written = dctx
        .decompress(&mut out, body)
        .map_err(|code| DecodeError::BadZstd(format!("corrupt frame: {}", zstd_safe::get_error_name(code))))?;
    if written != size {
        return Err(DecodeError::BadZstd(format!("frame declares {size} bytes but holds {written}")));
    }
    Ok(out)
}

fn streamed(dctx: &mut DCtx<'static>, body: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    let window_log = (usize::BITS - cap.max(1).saturating_sub(1).leading_zeros()).clamp(MIN_WINDOW_LOG, MAX_WINDOW_LOG);
    let _ = dctx.reset(ResetDirective::SessionAndParameters);
    let _ = dctx.set_parameter(DParameter::WindowLogMax(window_log));
    let mut out: Vec<u8> = Vec::with_capacity(STREAM_CHUNK.min(cap.saturating_add(1)));
    let mut input = InBuffer::around(body);
    loop {
        if out.len() == out.capacity() {
            if out.len() > cap {
                return Err(too_large_stream(cap));
            }
            // Grow by doubling, but never past cap + 1: one byte over the cap is proof enough.
            let target = (out.capacity() * 2).clamp(STREAM_CHUNK, cap.saturating_add(1));
            out.reserve_exact(target - out.len());
        }
        let before_in = input.pos();
        let before_out = out.len();
        let hint = {
            let pos = out.len();
            let mut output = OutBuffer::around_pos(&mut out, pos);
            let hint = dctx.decompress_stream(&mut output, &mut input).map_err(|code| map_stream_error(code, body, window_log))?;
            let written = output.pos();
            // `output` borrows `out` up to here (non-lexical lifetimes end the borrow).
            debug_assert_eq!(written, out.len());
            hint
        };
        if out.len() > cap {
            return Err(too_large_stream(cap));
        }
        if hint == 0 {
            return Ok(out);
        }
        if input.pos() == body.len() && input.pos() == before_in && out.len() == before_out {
            return Err(DecodeError::BadZstd("truncated frame: input ended before the frame did".into()));
        }
    }
}

fn map_stream_error(code: usize, body: &[u8], window_log: u32) -> DecodeError {
    let name = zstd_safe::get_error_name(code);
    if name.contains("too much memory") || name.contains("windowLog") || name.contains("Frame requires") {
        let limit = 1u64 << window_log;
        let asked = declared_window(body).map_or_else(|| "a window".to_string(), |w| format!("a {w}-byte window"));
        DecodeError::TooLarge(format!(
            "window limit: the zstd frame declares no content size and asks for {asked}, over this decoder's window limit of \
             {limit} bytes (the size cap rounded up to a power of two); encoders keep windowLog at most 22 (4 MiB) or declare the content size"
        ))
    } else {
        DecodeError::BadZstd(format!("corrupt frame: {name}"))
    }
}

/// The window a frame header asks for (RFC 8878 3.1.1.1.2), when it has a
/// Window_Descriptor (a single-segment frame's window is its content size).
fn declared_window(body: &[u8]) -> Option<u64> {
    let descriptor = *body.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    if single_segment {
        return None;
    }
    let wd = *body.get(5)?;
    let window_log = 10 + u32::from(wd >> 3);
    let base = 1u64 << window_log;
    Some(base + (base / 8) * u64::from(wd & 7))
}

fn too_large_stream(cap: usize) -> DecodeError {
    DecodeError::TooLarge(format!("size cap: the zstd frame expands past the cap of {cap} bytes (stopped there)"))
}
