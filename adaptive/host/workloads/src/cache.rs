//! The stateful function: a bounded cache kept across invocations.

use std::collections::{BTreeMap, VecDeque};

use crate::{InputError, Rng, header};

/// Entries the cache keeps; the least recently used goes first.
pub const CACHE_CAPACITY: usize = 64;

/// A stateful function's state: values computed for keys, the most recent
/// [`CACHE_CAPACITY`] kept.
#[derive(Debug, Default)]
pub struct Cache {
    values: BTreeMap<u32, Vec<u8>>,
    /// Keys, least recently used first.
    order: VecDeque<u32>,
    hits: u32,
    misses: u32,
}

impl Cache {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves one request ([`cache_input`]): the key's value from the cache
    /// or computed (and cached, evicting the least recently used). Returns
    /// 17 little-endian bytes: 1 for a hit or 0, a digest of the value
    /// (`u64`), hits and misses so far (`u32` each).
    pub fn serve(&mut self, input: &[u8]) -> Result<Vec<u8>, InputError> {
        let key = u32::from_le_bytes(header(input)?);
        let hit = self.values.contains_key(&key);
        if hit {
            self.hits += 1;
            self.order.retain(|&k| k != key);
        } else {
            self.misses += 1;
            let mut rng = Rng::new(u64::from(key) << 1);
            let len = 64 + rng.below(960) as usize;
            let value = (0..len).map(|_| rng.next() as u8).collect();
            self.values.insert(key, value);
            if self.order.len() == CACHE_CAPACITY
                && let Some(old) = self.order.pop_front()
            {
                self.values.remove(&old);
            }
        }
        self.order.push_back(key);
        let digest = self.values[&key]
            .iter()
            .fold(0u64, |d, &b| d.wrapping_mul(31).wrapping_add(u64::from(b)));
        let mut out = vec![u8::from(hit)];
        out.extend_from_slice(&digest.to_le_bytes());
        out.extend_from_slice(&self.hits.to_le_bytes());
        out.extend_from_slice(&self.misses.to_le_bytes());
        Ok(out)
    }

    /// Entries held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the cache holds nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The input of [`Cache::serve`]: a request for `key`.
#[must_use]
pub fn cache_input(key: u32) -> Vec<u8> {
    key.to_le_bytes().to_vec()
}
