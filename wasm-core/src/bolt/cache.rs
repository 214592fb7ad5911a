//! A bounded page cache: least-recently-used pages up to a byte budget.
//!
//! Lookups of single keys (`get`, history) re-read the same root and branch
//! pages; the cache keeps them. Full walks read each page once, so the budget,
//! not the file, bounds memory. Pages larger than a quarter of the budget (long
//! overflow runs) are never cached.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Default budget: 8 MiB, 2048 pages of 4 KiB — enough for every branch page
/// of a multi-GiB snapshot, small enough for a browser worker.
pub const DEFAULT_CACHE_BYTES: u64 = 8 << 20;

pub struct PageCache {
    budget_bytes: u64,
    used_bytes: u64,
    tick: u64,
    pages: HashMap<u64, (Arc<[u8]>, u64)>,
    by_age: BTreeMap<u64, u64>,
}

impl PageCache {
    pub fn new(budget_bytes: u64) -> Self {
        Self {
            budget_bytes,
            used_bytes: 0,
            tick: 0,
            pages: HashMap::new(),
            by_age: BTreeMap::new(),
        }
    }

    pub fn get(&mut self, id: u64) -> Option<Arc<[u8]>> {
        self.tick += 1;
        let tick = self.tick;
        let (page, age) = self.pages.get_mut(&id)?;
        self.by_age.remove(age);
        *age = tick;
        self.by_age.insert(tick, id);
        Some(page.clone())
    }

    pub fn insert(&mut self, id: u64, page: Arc<[u8]>) {
        let len = page.len() as u64;
        if len > self.budget_bytes / 4 || self.pages.contains_key(&id) {
            return;
        }
        while self.used_bytes + len > self.budget_bytes {
            let Some((_, old)) = self.by_age.pop_first() else {
                break;
            };
            if let Some((p, _)) = self.pages.remove(&old) {
                self.used_bytes -= p.len() as u64;
            }
        }
        self.tick += 1;
        self.by_age.insert(self.tick, id);
        self.pages.insert(id, (page, self.tick));
        self.used_bytes += len;
    }

    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_within_budget() {
        let mut c = PageCache::new(4 * 100);
        for id in 0..4 {
            c.insert(id, Arc::from(vec![0u8; 100]));
        }
        assert!(c.get(0).is_some()); // 0 is now the newest
        c.insert(9, Arc::from(vec![0u8; 100]));
        assert!(c.get(1).is_none(), "1 was the oldest");
        assert!(c.get(0).is_some() && c.get(9).is_some());
        assert!(c.used_bytes() <= 400);
        c.insert(10, Arc::from(vec![0u8; 101])); // > budget / 4: not cached
        assert!(c.get(10).is_none());
    }
}
