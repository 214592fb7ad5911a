//! The head of the stream: the first bytes, read until bbolt's page size and
//! the meta in force are known (or certain not to be).

use super::outcome::StreamStatusError;
use crate::bolt::header::{OpenError, PAGE_SIZE_CANDIDATES};
use crate::bolt::meta::{self, META_LEN, Meta, MetaSlot};
use crate::bolt::page::PAGE_HEADER_LEN;

/// The metas, once the page size is known.
pub(super) struct Metas {
    pub(super) page_size: u32,
    pub(super) metas: [Meta; 2],
    pub(super) in_force: MetaSlot,
}

pub(super) enum Decision {
    NeedMore,
    Ready(Metas),
    Fail(StreamStatusError),
}

fn meta_at(head: &[u8], slot: MetaSlot, offset: usize) -> Option<Meta> {
    let bytes = head.get(offset..offset.checked_add(PAGE_HEADER_LEN + META_LEN)?)?;
    let mut page = [0u8; PAGE_HEADER_LEN + META_LEN];
    page.copy_from_slice(bytes);
    Some(Meta::parse(slot, &page))
}

/// bbolt's (and `bolt::header::open`'s) choice of page size and meta, from
/// the first bytes; `ended`: they are the whole file.
pub(super) fn decide(head: &[u8], ended: bool) -> Decision {
    let len = head.len() as u64;
    let short = |ended: bool| {
        if !ended {
            Decision::NeedMore
        } else if len == 0 {
            Decision::Fail(OpenError::Empty.into())
        } else {
            Decision::Fail(OpenError::TooSmall { len }.into())
        }
    };
    let Some(m0) = meta_at(head, MetaSlot::Meta0, 0) else {
        return short(ended);
    };
    // From meta 0 when it is valid, else the first size with a valid meta 1 there.
    let page_size = if m0.validate().is_ok() {
        Some(m0.page_size)
    } else {
        let mut found = None;
        for size in PAGE_SIZE_CANDIDATES {
            let Ok(at) = usize::try_from(size) else {
                continue;
            };
            match meta_at(head, MetaSlot::Meta1, at) {
                None if !ended => return Decision::NeedMore,
                Some(m1) if m1.validate().is_ok() && m1.page_size == size => {
                    found = Some(size);
                    break;
                }
                _ => {}
            }
        }
        found
    };
    let Some(page_size) = page_size.filter(|s| PAGE_SIZE_CANDIDATES.contains(s)) else {
        let meta0 = m0.validate().err().map_or_else(
            || "page size is not a power of two".into(),
            |e| e.to_string(),
        );
        return Decision::Fail(
            OpenError::NotBolt {
                meta0,
                meta1: "no valid meta page at any page size".into(),
            }
            .into(),
        );
    };
    let Ok(ps) = usize::try_from(page_size) else {
        return short(true);
    };
    if head.len() < 2 * ps {
        return short(ended);
    }
    let Some(m1) = meta_at(head, MetaSlot::Meta1, ps) else {
        return short(true);
    };
    let Some(in_force) = meta::in_force(&m0, &m1) else {
        let why = |m: &Meta| {
            m.validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        return Decision::Fail(
            OpenError::NotBolt {
                meta0: why(&m0),
                meta1: why(&m1),
            }
            .into(),
        );
    };
    Decision::Ready(Metas {
        page_size,
        metas: [m0, m1],
        in_force,
    })
}
